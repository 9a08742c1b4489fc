/// Kernels for ggml's lattice ("i-quant") types: IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
/// IQ3_XXS, IQ3_S. Arithmetic follows gguf-py's `quants.py` operation by operation, so results
/// are bit-identical to its float32 output: every value is a product of a per-group scale and a
/// grid value (`IQuantGrids`, the tables of ggml-common.h), times a sign of ±1 (the sign is
/// applied by multiplying, as gguf-py does, never by flipping bits).
///
/// All blocks hold 256 elements; the layouts are those of ggml-common.h. Multi-byte fields are
/// little-endian and not necessarily aligned. In the formulas, j is the element's position in
/// its 8-element row, sign(bits, j) is -1 if bit j of `bits` is set and +1 otherwise, and
/// ksigns is ksigns_iq2xs (a 7-bit index to 8 sign bits).
extension DecodeKernels {
    static let iQuantKernels: [GGMLType: BlockDecodeKernel] = [
        .iq2_XXS: decodeIQ2_XXS,
        .iq2_XS: decodeIQ2_XS,
        .iq2_S: decodeIQ2_S,
        .iq3_XXS: decodeIQ3_XXS,
        .iq3_S: decodeIQ3_S,
        .iq1_S: decodeIQ1_S,
        .iq1_M: decodeIQ1_M,
    ]

    /// block_iq2_xxs (66 bytes): f16 d, then for each of 8 groups of 32 elements two u32:
    /// `a` = four grid indices (byte l for elements 8l..<8l+8), `b` = four 7-bit sign indices
    /// (bits 7l..<7l+7) and a 4-bit scale s (bits 28..<32).
    /// x = ((d * (0.5 + s)) * 0.25) * iq2xxs_grid[a.byte(l)][j] * sign(ksigns[b >> 7l & 127], j).
    static let decodeIQ2_XXS: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq2xxsGrid.withUnsafeBufferPointer { gridBuffer in
            IQuantGrids.ksigns.withUnsafeBufferPointer { ksignsBuffer in
                let grid = gridBuffer.baseAddress!, ksigns = ksignsBuffer.baseAddress!
                for block in 0..<(count / 256) {
                    let base = source + block * 66
                    let d = Float(base.loadUnaligned(as: Float16.self))
                    var output = destination + block * 256
                    for group in 0..<8 {
                        let indices = base.loadUnaligned(fromByteOffset: 2 + 8 * group, as: UInt32.self)
                        let aux = base.loadUnaligned(fromByteOffset: 6 + 8 * group, as: UInt32.self)
                        let db = SIMD8<Float>(repeating: d * (0.5 + Float(aux >> 28)) * 0.25)
                        for l in 0..<4 {
                            let row = gridRow(grid, Int(truncatingIfNeeded: (indices &>> (8 * l)) & 0xFF))
                            let signs = signMultipliers(ksigns[Int(truncatingIfNeeded: (aux &>> (7 * l)) & 0x7F)])
                            store(db * row * signs, output + 8 * l)
                        }
                        output += 32
                    }
                }
            }
        }
    }

    /// block_iq2_xs (74 bytes): f16 d, u16 qs[32], u8 scales[8]. qs[k] covers elements
    /// 8k..<8k+8: grid index q & 511, sign index q >> 9. Scale s of 16-element group g is
    /// nibble g % 2 (low first) of scales[g / 2].
    /// x = ((d * (0.5 + s)) * 0.25) * iq2xs_grid[q & 511][j] * sign(ksigns[q >> 9], j).
    static let decodeIQ2_XS: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq2xsGrid.withUnsafeBufferPointer { gridBuffer in
            IQuantGrids.ksigns.withUnsafeBufferPointer { ksignsBuffer in
                let grid = gridBuffer.baseAddress!, ksigns = ksignsBuffer.baseAddress!
                for block in 0..<(count / 256) {
                    let base = source + block * 74
                    let d = Float(base.loadUnaligned(as: Float16.self))
                    var output = destination + block * 256
                    for group in 0..<8 {
                        let scales = base.load(fromByteOffset: 66 + group, as: UInt8.self)
                        let db0 = SIMD8<Float>(repeating: d * (0.5 + Float(scales & 0x0F)) * 0.25)
                        let db1 = SIMD8<Float>(repeating: d * (0.5 + Float(scales >> 4)) * 0.25)
                        let packed = base.loadUnaligned(fromByteOffset: 2 + 8 * group, as: UInt64.self)
                        for l in 0..<4 {
                            let q = Int(truncatingIfNeeded: (packed &>> (16 * l)) & 0xFFFF)
                            let row = gridRow(grid, q & 511)
                            let signs = signMultipliers(ksigns[q >> 9])
                            store((l < 2 ? db0 : db1) * row * signs, output + 8 * l)
                        }
                        output += 32
                    }
                }
            }
        }
    }

    /// block_iq2_s (82 bytes): f16 d, u8 qs[32], u8 signs[32], u8 qh[8], u8 scales[8].
    /// Row k (elements 8k..<8k+8) has grid index qs[k] | ((qh[k / 4] >> 2(k % 4)) & 3) &<< 8 and
    /// sign bits signs[k] (bit j set: element j negative). Scale s of 16-element group g is
    /// nibble g % 2 (low first) of scales[g / 2].
    /// x = ((d * (0.5 + s)) * 0.25) * iq2s_grid[index][j] * sign(signs[k], j).
    static let decodeIQ2_S: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq2sGrid.withUnsafeBufferPointer { gridBuffer in
            let grid = gridBuffer.baseAddress!
            for block in 0..<(count / 256) {
                let base = source + block * 82
                let d = Float(base.loadUnaligned(as: Float16.self))
                var output = destination + block * 256
                for group in 0..<8 {
                    let scales = base.load(fromByteOffset: 74 + group, as: UInt8.self)
                    let db0 = SIMD8<Float>(repeating: d * (0.5 + Float(scales & 0x0F)) * 0.25)
                    let db1 = SIMD8<Float>(repeating: d * (0.5 + Float(scales >> 4)) * 0.25)
                    let low = base.loadUnaligned(fromByteOffset: 2 + 4 * group, as: UInt32.self)
                    let signBytes = base.loadUnaligned(fromByteOffset: 34 + 4 * group, as: UInt32.self)
                    let high = UInt32(base.load(fromByteOffset: 66 + group, as: UInt8.self))
                    for l in 0..<4 {
                        let index = ((low &>> (8 * l)) & 0xFF) | ((high &>> (2 * l)) & 3) &<< 8
                        let row = gridRow(grid, Int(truncatingIfNeeded: index))
                        let signs = signMultipliers(UInt8(truncatingIfNeeded: signBytes &>> (8 * l)))
                        store((l < 2 ? db0 : db1) * row * signs, output + 8 * l)
                    }
                    output += 32
                }
            }
        }
    }

    /// block_iq3_xxs (98 bytes): f16 d, u8 qs[64] (grid indices, 4 elements each), then one u32
    /// `a` per 32-element group: four 7-bit sign indices (bits 7l..<7l+7, for elements
    /// 8l..<8l+8 of the group) and a 4-bit scale s (bits 28..<32).
    /// x = ((d * (0.5 + s)) * 0.5) * iq3xxs_grid[qs[i / 4]][i % 4] * sign(ksigns[a >> 7l & 127], j)
    /// for block element i.
    static let decodeIQ3_XXS: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq3xxsGrid.withUnsafeBufferPointer { gridBuffer in
            IQuantGrids.ksigns.withUnsafeBufferPointer { ksignsBuffer in
                let grid = gridBuffer.baseAddress!, ksigns = ksignsBuffer.baseAddress!
                for block in 0..<(count / 256) {
                    let base = source + block * 98
                    let d = Float(base.loadUnaligned(as: Float16.self))
                    var output = destination + block * 256
                    for group in 0..<8 {
                        let aux = base.loadUnaligned(fromByteOffset: 66 + 4 * group, as: UInt32.self)
                        let db = SIMD8<Float>(repeating: d * (0.5 + Float(aux >> 28)) * 0.5)
                        let indices = base.loadUnaligned(fromByteOffset: 2 + 8 * group, as: UInt64.self)
                        for l in 0..<4 {
                            let row = gridRowPair(
                                grid,
                                Int(truncatingIfNeeded: (indices &>> (16 * l)) & 0xFF),
                                Int(truncatingIfNeeded: (indices &>> (16 * l + 8)) & 0xFF))
                            let signs = signMultipliers(ksigns[Int(truncatingIfNeeded: (aux &>> (7 * l)) & 0x7F)])
                            store(db * row * signs, output + 8 * l)
                        }
                        output += 32
                    }
                }
            }
        }
    }

    /// block_iq3_s (110 bytes): f16 d, u8 qs[64], u8 qh[8], u8 signs[32], u8 scales[4].
    /// Grid index i (elements 4i..<4i+4) is qs[i] | ((qh[i / 8] &>> (i % 8)) & 1) &<< 8; sign
    /// bits signs[k] cover elements 8k..<8k+8; scale s of 32-element group g is nibble g % 2
    /// (low first) of scales[g / 2].
    /// x = (d * (1 + 2s)) * iq3s_grid[index][i % 4] * sign(signs[k], j) for block element i.
    static let decodeIQ3_S: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq3sGrid.withUnsafeBufferPointer { gridBuffer in
            let grid = gridBuffer.baseAddress!
            for block in 0..<(count / 256) {
                let base = source + block * 110
                let d = Float(base.loadUnaligned(as: Float16.self))
                var output = destination + block * 256
                for group in 0..<8 {
                    let scales = base.load(fromByteOffset: 106 + group / 2, as: UInt8.self)
                    let s = (scales &>> (4 * (group & 1))) & 0x0F
                    let db = SIMD8<Float>(repeating: d * Float(1 + 2 * s))
                    let indices = base.loadUnaligned(fromByteOffset: 2 + 8 * group, as: UInt64.self)
                    let high = Int(truncatingIfNeeded: base.load(fromByteOffset: 66 + group, as: UInt8.self))
                    let signBytes = base.loadUnaligned(fromByteOffset: 74 + 4 * group, as: UInt32.self)
                    for l in 0..<4 {
                        let first = Int(truncatingIfNeeded: (indices &>> (16 * l)) & 0xFF)
                            | ((high &>> (2 * l)) & 1) &<< 8
                        let second = Int(truncatingIfNeeded: (indices &>> (16 * l + 8)) & 0xFF)
                            | ((high &>> (2 * l + 1)) & 1) &<< 8
                        let row = gridRowPair(grid, first, second)
                        let signs = signMultipliers(UInt8(truncatingIfNeeded: signBytes &>> (8 * l)))
                        store(db * row * signs, output + 8 * l)
                    }
                    output += 32
                }
            }
        }
    }

    /// block_iq1_s (50 bytes): f16 d, u8 qs[32], u16 qh[8]. For 32-element group g, h = qh[g]:
    /// row l (elements 8l..<8l+8) has grid index qs[4g + l] | ((h >> 3l) & 7) &<< 8; the group's
    /// scale is s = (h >> 12) & 7 and its delta is -0.125 if bit 15 of h is set, else 0.125.
    /// x = (d * (2s + 1)) * (iq1s_grid[index][j] + delta).
    static let decodeIQ1_S: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq1sGrid.withUnsafeBufferPointer { gridBuffer in
            let grid = gridBuffer.baseAddress!
            let delta = IQuantGrids.iq1Delta
            for block in 0..<(count / 256) {
                let base = source + block * 50
                let d = Float(base.loadUnaligned(as: Float16.self))
                var output = destination + block * 256
                for group in 0..<8 {
                    let h = Int(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: 34 + 2 * group, as: UInt16.self))
                    let dl = SIMD8<Float>(repeating: d * Float(2 * ((h >> 12) & 7) + 1))
                    let offset = SIMD8<Float>(repeating: h & 0x8000 == 0 ? delta : -delta)
                    let low = base.loadUnaligned(fromByteOffset: 2 + 4 * group, as: UInt32.self)
                    for l in 0..<4 {
                        let index = Int(truncatingIfNeeded: (low &>> (8 * l)) & 0xFF) | ((h &>> (3 * l)) & 7) &<< 8
                        store(dl * (gridRow(grid, index) + offset), output + 8 * l)
                    }
                    output += 32
                }
            }
        }
    }

    /// block_iq1_m (56 bytes): u8 qs[32], u8 qh[16], u16 sc[4]. The f16 d is spread over the top
    /// nibbles of sc: bits (sc[0] >> 12) | (sc[1] >> 8 & 0xF0) | (sc[2] >> 4 & 0xF00) |
    /// (sc[3] & 0xF000). Row k (elements 8k..<8k+8), with h = qh[k / 2] >> 4(k % 2): grid index
    /// qs[k] | (h & 7) &<< 8, delta -0.125 if h & 8 else 0.125. Scale s of 16-element group m is
    /// (sc[m / 4] >> 3(m % 4)) & 7.
    /// x = (d * (2s + 1)) * (iq1s_grid[index][j] + delta).
    static let decodeIQ1_M: BlockDecodeKernel = { source, destination, count in
        IQuantGrids.iq1sGrid.withUnsafeBufferPointer { gridBuffer in
            let grid = gridBuffer.baseAddress!
            let delta = IQuantGrids.iq1Delta
            for block in 0..<(count / 256) {
                let base = source + block * 56
                let sc = base.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
                let dBits = UInt16(truncatingIfNeeded: ((sc >> 12) & 0x000F) | ((sc >> 24) & 0x00F0)
                    | ((sc >> 36) & 0x0F00) | ((sc >> 48) & 0xF000))
                let d = Float(Float16(bitPattern: dBits))
                var output = destination + block * 256
                for pair in 0..<16 {
                    // Rows 2·pair and 2·pair + 1 share the byte qh[pair] and the scale of group pair.
                    let s = Int(truncatingIfNeeded: (sc &>> (16 * (pair >> 2) + 3 * (pair & 3))) & 7)
                    let dl = SIMD8<Float>(repeating: d * Float(2 * s + 1))
                    let h = Int(truncatingIfNeeded: base.load(fromByteOffset: 32 + pair, as: UInt8.self))
                    let q = Int(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: 2 * pair, as: UInt16.self))
                    let offset0 = SIMD8<Float>(repeating: h & 0x08 == 0 ? delta : -delta)
                    let offset1 = SIMD8<Float>(repeating: h & 0x80 == 0 ? delta : -delta)
                    let row0 = gridRow(grid, (q & 0xFF) | (h & 7) &<< 8)
                    let row1 = gridRow(grid, (q >> 8) | ((h >> 4) & 7) &<< 8)
                    store(dl * (row0 + offset0), output)
                    store(dl * (row1 + offset1), output + 8)
                    output += 16
                }
            }
        }
    }

    // MARK: Helpers

    /// Eight grid values (one packed 8-byte row) as floats.
    @inline(__always)
    private static func gridRow(_ grid: UnsafePointer<UInt64>, _ index: Int) -> SIMD8<Float> {
        let bytes = unsafeBitCast(grid[index], to: SIMD8<Int8>.self)
        return SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes))
    }

    /// Two 4-value grid rows, one after the other, as eight floats.
    @inline(__always)
    private static func gridRowPair(_ grid: UnsafePointer<UInt32>, _ first: Int, _ second: Int) -> SIMD8<Float> {
        let packed = UInt64(grid[first]) | UInt64(grid[second]) &<< 32
        let bytes = unsafeBitCast(packed, to: SIMD8<Int8>.self)
        return SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes))
    }

    /// ±1 for each of eight elements: -1 where bit j of `bits` is set. Built as bit patterns
    /// (the sign bit over 1.0), so it costs a shift, an and and an or.
    @inline(__always)
    private static func signMultipliers(_ bits: UInt8) -> SIMD8<Float> {
        let shifted = SIMD8<UInt32>(repeating: UInt32(bits)) &<< SIMD8<UInt32>(31, 30, 29, 28, 27, 26, 25, 24)
        return unsafeBitCast((shifted & 0x8000_0000) | 0x3F80_0000, to: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ values: SIMD8<Float>, _ destination: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(destination).storeBytes(of: values, as: SIMD8<Float>.self)
    }
}
