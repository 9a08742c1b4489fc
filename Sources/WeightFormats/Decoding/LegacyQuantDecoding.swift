/// Kernels for the 32-element block types of ggml (ggml-common.h): Q4_0, Q4_1, Q5_0, Q5_1,
/// Q8_0, and the other small-block types. Arithmetic follows gguf-py's `quants.py` operation
/// by operation, so results are bit-identical to its float32 output.
extension DecodeKernels {
    static let legacyQuantKernels: [GGMLType: BlockDecodeKernel] = [
        .q8_0: decodeQ8_0,
        .q4_0: decodeQ4_0,
        .q4_1: decodeQ4_1,
        .q5_0: decodeQ5_0,
        .q5_1: decodeQ5_1,
        .iq4_NL: decodeIQ4_NL,
        .mxfp4: decodeMXFP4,
        .nvfp4: decodeNVFP4,
        .q1_0: decodeQ1_0,
        .q2_0: decodeQ2_0,
    ]

    /// block_q8_0: f16 d, int8 qs[32]; x = d * q.
    static let decodeQ8_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 34
            let output = destination + block * 32
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            BlockIO.store(d * BlockIO.floats(BlockIO.signedBytes(base, 2)), output, 0)
            BlockIO.store(d * BlockIO.floats(BlockIO.signedBytes(base, 18)), output, 16)
        }
    }

    /// block_q4_0: f16 d, qs[16] (element j in the low nibble of byte j, element j+16 in the
    /// high nibble); x = d * (q - 8).
    static let decodeQ4_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 18
            let output = destination + block * 32
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            let packed = BlockIO.bytes(base, 2)
            BlockIO.store(d * BlockIO.floats(BlockIO.signed(packed & 0x0F) &- 8), output, 0)
            BlockIO.store(d * BlockIO.floats(BlockIO.signed(packed &>> 4) &- 8), output, 16)
        }
    }

    /// block_q4_1: f16 d, f16 m, qs[16] (nibbles as in Q4_0); x = (d * q) + m.
    static let decodeQ4_1: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 20
            let output = destination + block * 32
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            let m = SIMD16<Float>(repeating: BlockIO.half(base, 2))
            let packed = BlockIO.bytes(base, 4)
            BlockIO.store(d * BlockIO.floats(packed & 0x0F) + m, output, 0)
            BlockIO.store(d * BlockIO.floats(packed &>> 4) + m, output, 16)
        }
    }

    /// block_q5_0: f16 d, u32 qh (bit j is the fifth bit of element j), qs[16] (nibbles as in
    /// Q4_0); x = d * (q - 16).
    static let decodeQ5_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 22
            let output = destination + block * 32
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            let (low, high) = fiveBitQuants(qh: base.loadUnaligned(fromByteOffset: 2, as: UInt32.self), qs: BlockIO.bytes(base, 6))
            BlockIO.store(d * BlockIO.floats(low &- 16), output, 0)
            BlockIO.store(d * BlockIO.floats(high &- 16), output, 16)
        }
    }

    /// block_q5_1: f16 d, f16 m, u32 qh, qs[16] (as in Q5_0); x = (d * q) + m.
    static let decodeQ5_1: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 24
            let output = destination + block * 32
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            let m = SIMD16<Float>(repeating: BlockIO.half(base, 2))
            let (low, high) = fiveBitQuants(qh: base.loadUnaligned(fromByteOffset: 4, as: UInt32.self), qs: BlockIO.bytes(base, 8))
            BlockIO.store(d * BlockIO.floats(low) + m, output, 0)
            BlockIO.store(d * BlockIO.floats(high) + m, output, 16)
        }
    }

    /// The 5-bit quants of Q5_0 and Q5_1: elements 0..<16 and 16..<32.
    @inline(__always)
    static func fiveBitQuants(qh: UInt32, qs: SIMD16<UInt8>) -> (SIMD16<Int32>, SIMD16<Int32>) {
        let low = SIMD16<UInt32>(repeating: qh) &>> BlockIO.lanes16
        let high = low &>> 16
        return (BlockIO.widen(qs & 0x0F) | unsafeBitCast((low & 1) &<< 4, to: SIMD16<Int32>.self),
                BlockIO.widen(qs &>> 4) | unsafeBitCast((high & 1) &<< 4, to: SIMD16<Int32>.self))
    }

    /// block_iq4_nl: f16 d, qs[16] (nibbles as in Q4_0) indexing the non-linear table
    /// `kvalues_iq4nl`; x = d * kvalues[q].
    static let decodeIQ4_NL: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { products in
            for block in 0..<(count / 32) {
                let base = source + block * 18
                let output = destination + block * 32
                // The 16 possible products d * kvalues[i]; each element picks one.
                BlockIO.store(SIMD16<Float>(repeating: BlockIO.half(base, 0)) * iq4nlValues, products, 0)
                BlockIO.lookUpNibbles(products, base + 2, byteCount: 16, low: output, high: output + 16)
            }
        }
    }

    /// ggml's `kvalues_iq4nl`, the levels of IQ4_NL and IQ4_XS.
    static let iq4nlValues = SIMD16<Float>(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)

    /// ggml's `kvalues_mxfp4`: the E2M1 values, doubled.
    static let e2m1DoubledValues = SIMD16<Float>(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12)

    /// block_mxfp4: u8 e (E8M0 exponent), qs[16] (nibbles as in Q4_0, E2M1 codes);
    /// x = d * kvalues_mxfp4[q] with d = 2^(e - 128) (`e8m0_to_fp32_half`: half the scale,
    /// because the table is doubled).
    static let decodeMXFP4: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { products in
            for block in 0..<(count / 32) {
                let base = source + block * 17
                let output = destination + block * 32
                let e = UInt32(base.load(as: UInt8.self))
                // e < 2 gives the subnormals 2^-128 and 2^-127.
                let d = Float(bitPattern: e < 2 ? 0x0020_0000 << e : (e - 1) << 23)
                BlockIO.store(SIMD16<Float>(repeating: d) * e2m1DoubledValues, products, 0)
                BlockIO.lookUpNibbles(products, base + 1, byteCount: 16, low: output, high: output + 16)
            }
        }
    }

    /// block_nvfp4 (64 elements): u8 d[4] (UE4M3 scales, one per 16 elements), qs[32]. Sub-block
    /// s uses bytes qs[8s..<8s+8]: element 16s+j in the low nibble of byte j, 16s+8+j in its
    /// high nibble; x = (ue4m3(d[s]) / 2) * kvalues_mxfp4[q].
    static let decodeNVFP4: BlockDecodeKernel = { source, destination, count in
        ue4m3HalfValues.withUnsafeBufferPointer { scales in
            BlockIO.withTable { products in
                for block in 0..<(count / 64) {
                    let base = source + block * 36
                    for sub in 0..<4 {
                        let d = scales[Int(base.load(fromByteOffset: sub, as: UInt8.self))]
                        let output = destination + block * 64 + sub * 16
                        BlockIO.store(SIMD16<Float>(repeating: d) * e2m1DoubledValues, products, 0)
                        BlockIO.lookUpNibbles(products, base + 4 + sub * 8, byteCount: 8, low: output, high: output + 8)
                    }
                }
            }
        }
    }

    /// Every unsigned E4M3 byte as a float, halved (gguf-py's `ue4m3_to_fp32`: bias 7, no
    /// infinities, 0x7F reads as zero, the top bit is ignored). All values are exact.
    static let ue4m3HalfValues: [Float] = (0..<256).map { (x: Int) -> Float in
        if x == 0 || x == 0x7F { return 0 }
        let exponent = (x >> 3) & 0xF
        let mantissa = Float(x & 0x7)
        let raw = exponent == 0
            ? mantissa * 0x1p-9
            : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return raw * 0.5
    }

    /// block_q1_0 (128 elements, not in gguf-py): f16 d, qs[16]; element j is bit j % 8 of
    /// byte j / 8, and x = bit ? d : -d (ggml's `dequantize_row_q1_0`).
    static let decodeQ1_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 128) {
            let base = source + block * 18
            let output = destination + block * 128
            // -d is d with the sign bit flipped: flip it where the bit is clear.
            let d = SIMD16<UInt32>(repeating: BlockIO.half(base, 0).bitPattern)
            for pair in 0..<8 {
                let bytes = UInt32(base.loadUnaligned(fromByteOffset: 2 + 2 * pair, as: UInt16.self))
                let bits = SIMD16<UInt32>(repeating: bytes) &>> BlockIO.lanes16
                let values = d ^ ((~bits & 1) &<< 31)
                BlockIO.store(unsafeBitCast(values, to: SIMD16<Float>.self), output, pair * 16)
            }
        }
    }
}

extension DecodeKernels {
    /// block_q2_0 (64 elements, not in gguf-py): f16 d, qs[16]; element j is bits 2(j % 4) and
    /// 2(j % 4) + 1 of byte j / 4, and x = (q - 1) * d (ggml's `dequantize_row_q2_0`: codes 0...3
    /// stand for -1, 0, 1, 2).
    static let decodeQ2_0: BlockDecodeKernel = { source, destination, count in
        let shifts = SIMD16<UInt32>(0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6, 0, 2, 4, 6)
        for block in 0..<(count / 64) {
            let base = source + block * 18
            let output = destination + block * 64
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 0))
            for quarter in 0..<4 {
                var bytes = SIMD16<UInt32>()
                for lane in 0..<16 { bytes[lane] = UInt32(base.load(fromByteOffset: 2 + quarter * 4 + lane / 4, as: UInt8.self)) }
                let codes = (bytes &>> shifts) & 3
                var levels = SIMD16<Float>()
                for lane in 0..<16 { levels[lane] = Float(Int32(codes[lane]) - 1) }
                BlockIO.store(levels * d, output, quarter * 16)
            }
        }
    }
}

/// Loads, conversions and stores shared by the block kernels. Sources are unaligned;
/// destinations are only Float-aligned.
///
/// The conversions are written as lane loops on purpose: the standard library's generic SIMD
/// conversion initialisers end up as calls into its pre-built (baseline x86-64) copies, while
/// these loops inline and become single vector instructions (vpmovzxbd, vcvtdq2ps).
enum BlockIO {
    /// 0, 1, ..., 15.
    static let lanes16 = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

    /// The f16 at `offset`, as Float.
    @inline(__always)
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(base.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }

    /// The 16 bytes at `offset`.
    @inline(__always)
    static func bytes(_ base: UnsafeRawPointer, _ offset: Int) -> SIMD16<UInt8> {
        base.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
    }

    /// The 16 bytes at `offset`, as signed bytes.
    @inline(__always)
    static func signedBytes(_ base: UnsafeRawPointer, _ offset: Int) -> SIMD16<Int8> {
        base.loadUnaligned(fromByteOffset: offset, as: SIMD16<Int8>.self)
    }

    /// The same bits, read as signed bytes.
    @inline(__always)
    static func signed(_ values: SIMD16<UInt8>) -> SIMD16<Int8> {
        unsafeBitCast(values, to: SIMD16<Int8>.self)
    }

    @inline(__always)
    static func widen(_ values: SIMD16<UInt8>) -> SIMD16<Int32> {
        var result = SIMD16<Int32>()
        for lane in 0..<16 { result[lane] = Int32(values[lane]) }
        return result
    }

    @inline(__always)
    static func floats(_ values: SIMD16<UInt8>) -> SIMD16<Float> {
        var result = SIMD16<Float>()
        for lane in 0..<16 { result[lane] = Float(values[lane]) }
        return result
    }

    @inline(__always)
    static func floats(_ values: SIMD16<Int8>) -> SIMD16<Float> {
        var result = SIMD16<Float>()
        for lane in 0..<16 { result[lane] = Float(values[lane]) }
        return result
    }

    @inline(__always)
    static func floats(_ values: SIMD16<Int32>) -> SIMD16<Float> {
        var result = SIMD16<Float>()
        for lane in 0..<16 { result[lane] = Float(values[lane]) }
        return result
    }

    /// Stores 16 floats at `destination + offset`.
    @inline(__always)
    static func store(_ values: SIMD16<Float>, _ destination: UnsafeMutablePointer<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(destination + offset).storeBytes(of: values, as: SIMD16<Float>.self)
    }

    /// Runs `body` with room for 32 floats on the stack: a kernel keeps each block's scales
    /// there, so the block loop can broadcast them one at a time from memory.
    @inline(__always)
    static func withTable(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { buffer in
            if let table = buffer.baseAddress { body(table) }
        }
    }

    /// For each of `byteCount` bytes at `source`: `low[j] = table[byte & 15]`,
    /// `high[j] = table[byte >> 4]`.
    @inline(__always)
    static func lookUpNibbles(
        _ table: UnsafePointer<Float>, _ source: UnsafeRawPointer, byteCount: Int,
        low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<byteCount {
            let byte = source.load(fromByteOffset: j, as: UInt8.self)
            low[j] = table[Int(byte & 0x0F)]
            high[j] = table[Int(byte &>> 4)]
        }
    }
}
