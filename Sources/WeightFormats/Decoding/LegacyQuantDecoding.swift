/// Kernels for the 32-element block types of ggml (ggml-common.h): Q4_0, Q4_1, Q5_0, Q5_1,
/// Q8_0, and the other small-block types. Arithmetic follows gguf-py's `quants.py` operation
/// by operation, so results are bit-identical to its float32 output.
extension DecodeKernels {
    static let legacyQuantKernels: [GGMLType: BlockDecodeKernel] = [
        .q8_0: decodeQ8_0,
        .q4_0: decodeQ4_0,
    ]

    /// block_q8_0: f16 d, int8 qs[32]; x = d * q.
    static let decodeQ8_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 34
            let d = SIMD8<Float>(repeating: Float(base.loadUnaligned(as: Float16.self)))
            for part in 0..<4 {
                let q = base.loadUnaligned(fromByteOffset: 2 + part * 8, as: SIMD8<Int8>.self)
                UnsafeMutableRawPointer(destination + block * 32 + part * 8)
                    .storeBytes(of: d * SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)), as: SIMD8<Float>.self)
            }
        }
    }

    /// block_q4_0: f16 d, qs[16] (element j in the low nibble of byte j, element j+16 in the
    /// high nibble); x = d * (q - 8).
    static let decodeQ4_0: BlockDecodeKernel = { source, destination, count in
        for block in 0..<(count / 32) {
            let base = source + block * 18
            let d = SIMD16<Float>(repeating: Float(base.loadUnaligned(as: Float16.self)))
            let packed = base.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
            let low = SIMD16<Int32>(truncatingIfNeeded: packed & 0x0F) &- 8
            let high = SIMD16<Int32>(truncatingIfNeeded: packed &>> 4) &- 8
            let output = UnsafeMutableRawPointer(destination + block * 32)
            output.storeBytes(of: d * SIMD16<Float>(low), as: SIMD16<Float>.self)
            output.storeBytes(of: d * SIMD16<Float>(high), toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}
