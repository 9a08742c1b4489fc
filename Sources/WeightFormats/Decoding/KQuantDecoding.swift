/// Kernels for the 256-element super-block types of ggml (ggml-common.h): IQ4_XS, TQ1_0, TQ2_0
/// (Q2_K ... Q6_K are CKernels', bodies/decode.h). Arithmetic follows gguf-py's `quants.py`
/// operation by operation.
///
/// Several types spread 2-bit fields over 128 elements the same way: element 32k + l of a
/// 128-element half (k < 4, l < 32) is bits 2k, 2k+1 of byte l of that half's 32 bytes.
extension DecodeKernels {
    static let kQuantKernels: [GGMLType: BlockDecodeKernel] = [
        .iq4_XS: decodeIQ4_XS,
        .tq1_0: decodeTQ1_0,
        .tq2_0: decodeTQ2_0,
    ]

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
