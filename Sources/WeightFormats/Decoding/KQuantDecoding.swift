/// Kernels for the 256-element super-block types of ggml (ggml-common.h): Q2_K ... Q6_K,
/// IQ4_XS, TQ1_0, TQ2_0. Arithmetic follows gguf-py's `quants.py` operation by operation.
///
/// Several types spread 2-bit fields over 128 elements the same way: element 32k + l of a
/// 128-element half (k < 4, l < 32) is bits 2k, 2k+1 of byte l of that half's 32 bytes.
extension DecodeKernels {
    static let kQuantKernels: [GGMLType: BlockDecodeKernel] = [
        .q2_K: decodeQ2_K,
        .q3_K: decodeQ3_K,
        .q4_K: decodeQ4_K,
        .q5_K: decodeQ5_K,
        .q6_K: decodeQ6_K,
        .iq4_XS: decodeIQ4_XS,
        .tq1_0: decodeTQ1_0,
        .tq2_0: decodeTQ2_0,
    ]

    /// block_q2_K: scales[16] (low nibble scale, high nibble min, per 16 elements), qs[64]
    /// (2-bit fields, two 128-element halves), f16 d, f16 dmin;
    /// x = (d * sc) * q - (dmin * m).
    static let decodeQ2_K: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { scales in
            let mins = scales + 16
            for block in 0..<(count / 256) {
                let base = source + block * 84
                let output = destination + block * 256
                let packed = BlockIO.bytes(base, 0)
                BlockIO.store(SIMD16<Float>(repeating: BlockIO.half(base, 80)) * BlockIO.floats(packed & 0x0F), scales, 0)
                BlockIO.store(SIMD16<Float>(repeating: BlockIO.half(base, 82)) * BlockIO.floats(packed &>> 4), mins, 0)
                for group in 0..<4 {
                    let qs = BlockIO.bytes(base, 16 + group * 16)
                    let half = group / 2, part = group % 2
                    for k in 0..<4 {
                        let sub = half * 8 + k * 2 + part  // 16 elements at 128h + 32k + 16part
                        let q = BlockIO.floats((qs &>> UInt8(2 * k)) & 3)
                        let scale = SIMD16<Float>(repeating: scales[sub]), min = SIMD16<Float>(repeating: mins[sub])
                        BlockIO.store(scale * q - min, output, sub * 16)
                    }
                }
            }
        }
    }

    /// block_q3_K: hmask[32] (bit 4h+k of byte l: high bit of element 128h + 32k + l), qs[64]
    /// (low 2-bit fields), scales[12] (sixteen 6-bit scales), f16 d;
    /// x = (d * (sc - 32)) * (q - (high bit set ? 0 : 4)).
    static let decodeQ3_K: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { scales in
            for block in 0..<(count / 256) {
                let base = source + block * 110
                let output = destination + block * 256
                BlockIO.store(SIMD16<Float>(repeating: BlockIO.half(base, 108)) * BlockIO.floats(q3KScales(base + 96)), scales, 0)
                // The high bits inverted: a set bit means "subtract 4".
                let clearHigh = (~BlockIO.bytes(base, 0), ~BlockIO.bytes(base, 16))
                for group in 0..<4 {
                    let qs = BlockIO.bytes(base, 32 + group * 16)
                    let half = group / 2, part = group % 2
                    let high = part == 0 ? clearHigh.0 : clearHigh.1
                    for k in 0..<4 {
                        let sub = half * 8 + k * 2 + part
                        let low = (qs &>> UInt8(2 * k)) & 3
                        let offset = ((high &>> UInt8(4 * half + k)) & 1) &<< 2
                        let q = BlockIO.signed(low) &- BlockIO.signed(offset)
                        BlockIO.store(SIMD16<Float>(repeating: scales[sub]) * BlockIO.floats(q), output, sub * 16)
                    }
                }
            }
        }
    }

    /// The sixteen signed scales of Q3_K: scale i has its low nibble in byte i % 8 (low nibble
    /// for i < 8, high otherwise) and bits 4, 5 in bits 2(i / 4) of byte 8 + i % 4; minus 32.
    @inline(__always)
    static func q3KScales(_ scales: UnsafeRawPointer) -> SIMD16<Int8> {
        let low = scales.loadUnaligned(as: UInt64.self)
        let high = scales.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let lowNibbles = SIMD2<UInt64>(low & 0x0F0F_0F0F_0F0F_0F0F, (low >> 4) & 0x0F0F_0F0F_0F0F_0F0F)
        let highBits = SIMD4<UInt32>(high, high >> 2, high >> 4, high >> 6) & 0x0303_0303
        let combined = unsafeBitCast(lowNibbles, to: SIMD16<UInt8>.self) | (unsafeBitCast(highBits, to: SIMD16<UInt8>.self) &<< 4)
        return BlockIO.signed(combined) &- 32
    }

    /// The eight 6-bit scales (lanes 0..<8) and mins (lanes 8..<16) of Q4_K and Q5_K, packed in
    /// 12 bytes: sub-blocks 0..<4 in the low 6 bits of bytes 0..<4 (scales) and 4..<8 (mins);
    /// sub-blocks 4..<8 in the nibbles of bytes 8..<12 plus the top 2 bits of bytes 0..<8.
    @inline(__always)
    static func kScalesAndMins(_ scales: UnsafeRawPointer) -> SIMD16<UInt8> {
        let a = scales.loadUnaligned(as: UInt32.self)
        let b = scales.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let c = scales.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let words = SIMD4<UInt32>(
            a & 0x3F3F_3F3F, (c & 0x0F0F_0F0F) | ((a >> 2) & 0x3030_3030),
            b & 0x3F3F_3F3F, ((c >> 4) & 0x0F0F_0F0F) | ((b >> 2) & 0x3030_3030))
        return unsafeBitCast(words, to: SIMD16<UInt8>.self)
    }

    /// Stores `d * sc` in `table[0..<8]` and `dmin * m` in `table[8..<16]`, for Q4_K and Q5_K.
    @inline(__always)
    static func storeKScales(_ base: UnsafeRawPointer, _ table: UnsafeMutablePointer<Float>) {
        var factors = SIMD16<Float>(repeating: BlockIO.half(base, 2))
        let d = BlockIO.half(base, 0)
        for lane in 0..<8 { factors[lane] = d }
        BlockIO.store(factors * BlockIO.floats(kScalesAndMins(base + 4)), table, 0)
    }

    /// block_q4_K: f16 d, f16 dmin, scales[12] (see `kScalesAndMins`), qs[128]: bytes
    /// 32i..<32i+32 hold sub-block 2i in their low nibbles and 2i+1 in their high nibbles;
    /// x = (d * sc) * q - (dmin * m).
    static let decodeQ4_K: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { table in
            for block in 0..<(count / 256) {
                let base = source + block * 144
                let output = destination + block * 256
                storeKScales(base, table)
                for sub in stride(from: 0, to: 8, by: 2) {
                    let lowScale = SIMD16<Float>(repeating: table[sub])
                    let lowMin = SIMD16<Float>(repeating: table[8 + sub])
                    let highScale = SIMD16<Float>(repeating: table[sub + 1])
                    let highMin = SIMD16<Float>(repeating: table[9 + sub])
                    for part in 0..<2 {
                        let qs = BlockIO.bytes(base, 16 + sub * 16 + part * 16)
                        BlockIO.store(lowScale * BlockIO.floats(qs & 0x0F) - lowMin, output, sub * 32 + part * 16)
                        BlockIO.store(highScale * BlockIO.floats(qs &>> 4) - highMin, output, sub * 32 + 32 + part * 16)
                    }
                }
            }
        }
    }

    /// block_q5_K: f16 d, f16 dmin, scales[12] (as Q4_K), qh[32] (bit j of byte l: fifth bit
    /// of element 32j + l), qs[128] (as Q4_K); x = (d * sc) * q - (dmin * m).
    static let decodeQ5_K: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { table in
            for block in 0..<(count / 256) {
                let base = source + block * 176
                let output = destination + block * 256
                storeKScales(base, table)
                let highBits = (BlockIO.bytes(base, 16), BlockIO.bytes(base, 32))
                for sub in 0..<8 {
                    let scale = SIMD16<Float>(repeating: table[sub])
                    let min = SIMD16<Float>(repeating: table[8 + sub])
                    let shift = UInt8(4 * (sub % 2))
                    for part in 0..<2 {
                        let qs = BlockIO.bytes(base, 48 + (sub / 2) * 32 + part * 16)
                        let qh = part == 0 ? highBits.0 : highBits.1
                        let q = ((qs &>> shift) & 0x0F) | (((qh &>> UInt8(sub)) & 1) &<< 4)
                        BlockIO.store(scale * BlockIO.floats(q) - min, output, sub * 32 + part * 16)
                    }
                }
            }
        }
    }

    /// block_q6_K: ql[128] (low nibbles), qh[64] (2-bit high parts), int8 scales[16], f16 d.
    /// Element 128h + 32k + l (k < 4): low nibble from ql[64h + 32(k % 2) + l] (high nibble of
    /// that byte when k >= 2), high bits 2k, 2k+1 of qh[32h + l];
    /// x = (d * scale) * (q - 32), one scale per 16 elements.
    static let decodeQ6_K: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { scales in
            for block in 0..<(count / 256) {
                let base = source + block * 210
                let output = destination + block * 256
                BlockIO.store(SIMD16<Float>(repeating: BlockIO.half(base, 208)) * BlockIO.floats(BlockIO.signedBytes(base, 192)), scales, 0)
                for half in 0..<2 {
                    for part in 0..<2 {
                        let first = BlockIO.bytes(base, 64 * half + 16 * part)
                        let second = BlockIO.bytes(base, 64 * half + 32 + 16 * part)
                        let qh = BlockIO.bytes(base, 128 + 32 * half + 16 * part)
                        // Stores the 16 elements of 6-bit quants q at 128h + 32k + 16part.
                        @inline(__always) func store(_ q: SIMD16<UInt8>, _ k: Int) {
                            let sub = half * 8 + k * 2 + part
                            let centered = BlockIO.signed(q) &- 32
                            BlockIO.store(SIMD16<Float>(repeating: scales[sub]) * BlockIO.floats(centered), output, sub * 16)
                        }
                        store((first & 0x0F) | ((qh & 0x03) &<< 4), 0)
                        store((second & 0x0F) | ((qh & 0x0C) &<< 2), 1)
                        store((first &>> 4) | (qh & 0x30), 2)
                        store((second &>> 4) | ((qh &>> 2) & 0x30), 3)
                    }
                }
            }
        }
    }

    /// block_iq4_xs: f16 d, u16 scales_h (bits 2j, 2j+1: high bits of scale j), scales_l[4]
    /// (nibble j: low bits of scale j), qs[128]: bytes 16j..<16j+16 hold elements 32j + l in their
    /// low nibbles and 32j + 16 + l in their high nibbles, indexing `kvalues_iq4nl`;
    /// x = (d * (scale - 32)) * kvalues[q].
    static let decodeIQ4_XS: BlockDecodeKernel = { source, destination, count in
        BlockIO.withTable { products in
            for block in 0..<(count / 256) {
                let base = source + block * 136
                let output = destination + block * 256
                let d = BlockIO.half(base, 0)
                let high = UInt32(base.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                let low = base.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
                for sub in 0..<8 {
                    let scale = Int32(((low >> (4 * sub)) & 0x0F) | (((high >> (2 * sub)) & 0x03) << 4)) - 32
                    // The 16 possible products (d * scale) * kvalues[i]; each element picks one.
                    BlockIO.store(SIMD16<Float>(repeating: d * Float(scale)) * iq4nlValues, products, 0)
                    let out = output + sub * 32
                    BlockIO.lookUpNibbles(products, base + 8 + sub * 16, byteCount: 16, low: out, high: out + 16)
                }
            }
        }
    }

    /// block_tq1_0: qs[48], qh[4], f16 d. Each byte packs up to five base-3 digits: digit k of
    /// byte b is ((b * 3^k mod 256) * 3) >> 8. Elements 0..<160 are digit k of qs[l] at 32k + l
    /// (l < 32); 160..<240 digit k of qs[32 + l] at 160 + 16k + l (l < 16); 240..<256 digit k
    /// of qh[l] at 240 + 4k + l (k, l < 4); x = d * (digit - 1).
    static let decodeTQ1_0: BlockDecodeKernel = { source, destination, count in
        let qhPowers = SIMD16<UInt8>(1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27)
        for block in 0..<(count / 256) {
            let base = source + block * 54
            let output = destination + block * 256
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 52))
            let first = (BlockIO.bytes(base, 0), BlockIO.bytes(base, 16))
            let second = BlockIO.bytes(base, 32)
            var power: UInt8 = 1
            for k in 0..<5 {
                BlockIO.store(d * ternaryDigits(first.0 &* power), output, 32 * k)
                BlockIO.store(d * ternaryDigits(first.1 &* power), output, 32 * k + 16)
                BlockIO.store(d * ternaryDigits(second &* power), output, 160 + 16 * k)
                power &*= 3
            }
            let qh = SIMD4<UInt32>(repeating: base.loadUnaligned(fromByteOffset: 48, as: UInt32.self))
            BlockIO.store(d * ternaryDigits(unsafeBitCast(qh, to: SIMD16<UInt8>.self) &* qhPowers), output, 240)
        }
    }

    /// The top base-3 digit of each byte, minus one (((b * 3) >> 8) - 1), as Float.
    @inline(__always)
    static func ternaryDigits(_ bytes: SIMD16<UInt8>) -> SIMD16<Float> {
        BlockIO.floats(((BlockIO.widen(bytes) &* 3) &>> 8) &- 1)
    }

    /// block_tq2_0: qs[64] (2-bit fields, two 128-element halves), f16 d; x = d * (q - 1).
    static let decodeTQ2_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 256) {
            let base = source + block * 66
            let output = destination + block * 256
            let d = SIMD16<Float>(repeating: BlockIO.half(base, 64))
            for group in 0..<4 {
                let qs = BlockIO.bytes(base, group * 16)
                let half = group / 2, part = group % 2
                for k in 0..<4 {
                    let q = BlockIO.signed((qs &>> UInt8(2 * k)) & 3) &- 1
                    BlockIO.store(d * BlockIO.floats(q), output, half * 128 + k * 32 + part * 16)
                }
            }
        }
    }
}
