import CKernels
import Testing
import WeightCompute
import WeightFormats

/// WeightMatrix against dequantise-then-dot: the weights decoded by WeightFormats' decoders (the
/// ones checked against gguf-py and ggml), the products summed in Double. Every test runs once
/// per instruction-set tier the processor has (`Kernels.allSupported`, AVX-512 also without
/// VNNI and BF16).
@Suite struct WeightMatrixTests {
    /// A matrix of `rows` x `columns` in `type`, its blocks drawn at random from the blocks of the
    /// fixture tensor `t.<TYPE>` (Fixtures/core/ggml_types.gguf: random quant fields, finite
    /// scales), and the same weights decoded to Double.
    final class RandomMatrix {
        let matrix: WeightMatrix
        let storage: UnsafeMutableRawPointer
        let decoded: [Double]

        /// `adjust`, if given, edits each drawn block in place before decoding (e.g. to keep scales
        /// where the products stay finite).
        init(type: GGMLType, rows: Int, columns: Int, inputs: inout RandomInputs, kernels: Kernels,
             adjust: ((UnsafeMutableRawPointer) -> Void)? = nil) throws {
            let checkpoint = try Checkpoint.open(Fixture.path("core/ggml_types.gguf"))
            let tensor = try checkpoint.requireTensor("t.\(type.name)")
            defer { withExtendedLifetime(tensor) {} }
            let pool = tensor.bytes
            let poolBlocks = pool.count / type.bytesPerBlock
            let blocks = rows * columns / type.blockSize
            let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, blocks * type.bytesPerBlock), alignment: 64)
            for (block, source) in inputs.integers(blocks, in: 0..<poolBlocks).enumerated() {
                (storage + block * type.bytesPerBlock).copyMemory(
                    from: pool.baseAddress! + source * type.bytesPerBlock, byteCount: type.bytesPerBlock)
                adjust?(storage + block * type.bytesPerBlock)
            }
            var floats = [Float](repeating: .nan, count: rows * columns)
            floats.withUnsafeMutableBufferPointer { type.decodeKernel!(UnsafeRawPointer(storage), $0.baseAddress!, rows * columns) }
            decoded = floats.doubles
            self.storage = storage
            matrix = WeightMatrix(rows: rows, columns: columns, type: type, base: UnsafeRawPointer(storage), owner: nil,
                                  kernels: kernels)
        }

        deinit { storage.deallocate() }

        /// y[t, r] = Σ_c x[t, c] · W[r, c], and Σ |x · W| as the scale of each sum's rounding error.
        func reference(_ x: [Float], count: Int) -> (values: [Double], scale: [Double]) {
            let (rows, columns) = (matrix.rows, matrix.columns)
            var values = [Double](repeating: 0, count: count * rows), scale = values
            for t in 0..<count {
                for r in 0..<rows {
                    for c in 0..<columns {
                        let product = Double(x[t * columns + c]) * decoded[r * columns + c]
                        values[t * rows + r] += product
                        scale[t * rows + r] += abs(product)
                    }
                }
            }
            return (values, scale)
        }

        func apply(_ x: [Float], count: Int, threads: Int, activations: ActivationPrecision = .quantized) -> [Float] {
            var y = [Float](repeating: .nan, count: count * matrix.rows)
            let context = ComputeContext(threads: threads, kernels: matrix.kernels, activations: activations)
            y.withUnsafeMutableBufferPointer { matrix.apply(x, count: count, into: $0.baseAddress!, context: context) }
            return y
        }
    }

    /// Row counts around the 64-row threading threshold (odd counts split unevenly over two
    /// threads) and the 128-row prefill blocks (257 and 300 rows take several).
    static let rowCounts = [1, 3, 5, 63, 64, 67, 257, 300]

    /// Float types and the quantised types with exact activations (`.exact`: decode-then-dot,
    /// for every decodable family; Q8_0 included).
    static let exactTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_1, .iq4_NL, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
                                         .iq4_XS]

    /// Float rows of lengths around the kernels' 64-, 32- and 8-value steps and their scalar
    /// tails, and rows long enough for the decode kernels' grouped-rows path (x and one row over
    /// 24 KiB: from 3,073 values for float32, 4,097 for 16-bit types), with and without a tail.
    static func columnCounts(_ type: GGMLType) -> [Int] {
        type.blockSize == 1 ? [1, 7, 8, 9, 31, 45, 100, 4100, 6160] : [1, 3].map { $0 * max(type.blockSize, 32) }
    }

    /// The activations a product actually multiplies: with bfloat16 weights, prefill rounds x to
    /// bfloat16 (`encode_bf16`, checked against gguf-py by the conversion tests) where the
    /// AVX-512 BF16 path applies (even row lengths); everything else multiplies x as it is.
    static func activations(_ x: [Float], type: GGMLType, columns: Int, tokens: Int, kernels: Kernels) -> [Float] {
        guard type == .bf16, tokens > 1, columns % 2 == 0, kernels.c.gemm_bf16_dot_vectorized != 0 else { return x }
        var encoded = [UInt16](repeating: 0, count: x.count)
        kernels.c.encode_bf16(x, &encoded, x.count)
        return encoded.map { Float(bitPattern: UInt32($0) << 16) }
    }

    @Test("bfloat16 encoding: the vector path equals the one-at-a-time path on every kind of value",
          arguments: Kernels.allSupported)
    func bfloat16Encoding(kernels: Kernels) {
        var inputs = RandomInputs(seed: 16)
        var values = inputs.floats(1000, in: -3...3)
        let special: [UInt32] = [0x7FC0_0000, 0x7F80_0001, 0xFF81_2345, 0x7F80_0000, 0xFF80_0000, 0x0000_0001, 0x8000_8000,
                                 0x007F_FFFF, 0x3F80_8000, 0x3F81_8000, 0x3F80_7FFF, 0x7F7F_FFFF, 0, 0x8000_0000]
        for (index, bits) in special.enumerated() { values[index * 37] = Float(bitPattern: bits) }
        var together = [UInt16](repeating: 0, count: values.count)
        kernels.c.encode_bf16(values, &together, values.count)
        let alone = values.map { value -> UInt16 in
            var one: UInt16 = 0
            withUnsafePointer(to: value) { kernels.c.encode_bf16($0, &one, 1) }
            return one
        }
        #expect(together == alone)
    }

    @Test("decode (one token) and prefill (several) with exact activations equal dequantise-then-dot",
          arguments: exactTypes, Kernels.allSupported)
    func matchesDequantizedProduct(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 100 + UInt64(type.rawValue))
        for rows in Self.rowCounts {
            for columns in Self.columnCounts(type) {
                let weights = try RandomMatrix(type: type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                for count in [1, 2, 5] {
                    let x = inputs.floats(count * columns, in: -2...2)
                    let (reference, scale) = weights.reference(
                        Self.activations(x, type: type, columns: columns, tokens: count, kernels: kernels), count: count)
                    for threads in [1, 2] {
                        expectClose(weights.apply(x, count: count, threads: threads, activations: .exact), reference, scale: scale,
                                    tolerance: 1e-5,
                                    "\(kernels) \(type.name) [\(rows), \(columns)] x \(count) tokens, \(threads) threads")
                    }
                }
            }
        }
    }

    /// Prefill shapes around `gemm`'s blocking: 32-row panels (31, 33, 65 rows), 16-column
    /// packing steps and 256-column chunks (17, 257, 300), 12-token tiles (12, 13, 25), more than
    /// 256 tokens (blocks of tokens), and x too large to stay in cache (80 x 4,100), which takes
    /// the chunk-outer order.
    static let gemmShapes: [(rows: Int, columns: Int, tokens: Int)] = [
        (31, 300, 13), (33, 257, 12), (65, 17, 25), (32, 16, 2), (40, 4100, 80), (3, 64, 260), (96, 512, 7),
    ]

    @Test("prefill of float rows across panel, chunk and tile edges", arguments: [GGMLType.f32, .f16, .bf16], Kernels.allSupported)
    func floatPrefillBlocking(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 200 + UInt64(type.rawValue))
        for shape in Self.gemmShapes {
            let weights = try RandomMatrix(type: type, rows: shape.rows, columns: shape.columns, inputs: &inputs, kernels: kernels)
            let x = inputs.floats(shape.tokens * shape.columns, in: -2...2)
            let (reference, scale) = weights.reference(
                Self.activations(x, type: type, columns: shape.columns, tokens: shape.tokens, kernels: kernels), count: shape.tokens)
            for threads in [1, 2] {
                expectClose(weights.apply(x, count: shape.tokens, threads: threads), reference, scale: scale, tolerance: 1e-5,
                            "\(kernels) \(type.name) [\(shape.rows), \(shape.columns)] x \(shape.tokens) tokens, \(threads) threads")
            }
        }
    }

    /// Several matrices applied to one x in one loop (q, k, v; gate and up) give each matrix's own
    /// product bit for bit, for one token (the shared loop) and several (one at a time).
    @Test("products sharing one x equal the products taken alone", arguments: Kernels.allSupported)
    func sharedInput(kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 31)
        let columns = 96
        let matrices = try [(GGMLType.f16, 67), (.q8_0, 5), (.bf16, 130), (.f32, 33), (.q4_K, 3)].map { type, rows in
            try RandomMatrix(type: type, rows: rows, columns: type == .q4_K ? 256 : columns, inputs: &inputs, kernels: kernels)
        }
        for (set, count) in [([0, 1, 2, 3], 1), ([0, 2], 1), ([1, 3], 3)] {
            let chosen = set.map { matrices[$0] }
            let x = inputs.floats(count * columns, in: -2...2)
            for threads in [1, 2] {
                let outputs = chosen.map { UnsafeMutablePointer<Float>.allocate(capacity: count * $0.matrix.rows) }
                defer { outputs.forEach { $0.deallocate() } }
                x.withUnsafeBufferPointer { xs in
                    WeightMatrix.apply(Array(zip(chosen.map(\.matrix), outputs)), to: xs.baseAddress!, count: count, context: ComputeContext(threads: threads, kernels: kernels))
                }
                for (index, weights) in chosen.enumerated() {
                    let together = Array(UnsafeBufferPointer(start: outputs[index], count: count * weights.matrix.rows))
                    #expect(together == weights.apply(x, count: count, threads: threads), "set \(set), matrix \(index), \(threads) threads")
                }
            }
        }
        // One matrix alone (a K-quant) through the shared loop: the same results.
        let mixed = [matrices[4]]
        let x = inputs.floats(256, in: -2...2)
        var y = [Float](repeating: .nan, count: mixed[0].matrix.rows)
        y.withUnsafeMutableBufferPointer { out in
            x.withUnsafeBufferPointer { WeightMatrix.apply([(mixed[0].matrix, out.baseAddress!)], to: $0.baseAddress!, count: 1, context: ComputeContext(kernels: kernels)) }
        }
        #expect(y == mixed[0].apply(x, count: 1, threads: 0))
    }

    @Test("Q8_0 decode: exact against the activation it quantises, within the quantisation bound of the float one",
          arguments: Kernels.allSupported)
    func q8_0(kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 8)
        for rows in Self.rowCounts {
            for columns in [32, 64, 96, 224, 7552] {
                let weights = try RandomMatrix(type: .q8_0, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                var x = inputs.floats(columns, in: -3...3)
                x[0] = 0                                         // a zero and a block of zeros (scale 0)
                if columns > 64 { for c in 32..<64 { x[c] = 0 } }

                var blocks = [wk_block_q8_act](repeating: wk_block_q8_act(), count: columns / 32)
                kernels.c.quantize_q8_act(x, &blocks, columns)
                let quantizedX = (0..<columns).map { c in
                    withUnsafeBytes(of: blocks[c / 32].qs) { Double(Int8(bitPattern: $0[c % 32])) } * Double(blocks[c / 32].d)
                }
                let (exact, exactScale) = weights.reference(quantizedX.map(Float.init), count: 1)
                let (reference, _) = weights.reference(x, count: 1)
                // |x - q·d| ≤ d/2 per element, so each sum is off by at most Σ_blocks d/2 · Σ|w|.
                let bound = (0..<rows).map { r in
                    (0..<columns).reduce(0.0) { $0 + Double(blocks[$1 / 32].d) / 2 * abs(weights.decoded[r * columns + $1]) }
                }
                for threads in [1, 2] {
                    let y = weights.apply(x, count: 1, threads: threads)
                    expectClose(y, exact, scale: exactScale, tolerance: 1e-5, "[\(rows), \(columns)], \(threads) threads")
                    expectClose(y, reference, scale: bound.map { $0 * 1.001 + 1e-6 }, tolerance: 1, "bound [\(rows), \(columns)]")
                }
            }
        }
    }

    @Test("Q8_0 prefill: every token exact against the activation it quantises, as in decode", arguments: Kernels.allSupported)
    func q8_0Prefill(kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 9)
        // Row counts around the 32-row panels, columns around the 8-block chunks, token counts
        // around the 6-token tiles.
        for rows in [3, 5, 31, 32, 33, 67, 300] {
            for columns in [32, 96, 256, 288, 544] {
                let weights = try RandomMatrix(type: .q8_0, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                for count in [2, 5, 6, 7, 13] {
                    var x = inputs.floats(count * columns, in: -3...3)
                    for c in 0..<32 { x[columns + c] = 0 }           // a block of zeros (scale 0)
                    var blocks = [wk_block_q8_act](repeating: wk_block_q8_act(), count: count * columns / 32)
                    kernels.c.quantize_q8_act(x, &blocks, count * columns)
                    let quantizedX = (0..<(count * columns)).map { i in
                        withUnsafeBytes(of: blocks[i / 32].qs) { Double(Int8(bitPattern: $0[i % 32])) } * Double(blocks[i / 32].d)
                    }
                    let (exact, scale) = weights.reference(quantizedX.map(Float.init), count: count)
                    for threads in [1, 2] {
                        expectClose(weights.apply(x, count: count, threads: threads), exact, scale: scale, tolerance: 1e-5,
                                    "[\(rows), \(columns)] x \(count) tokens, \(threads) threads")
                    }
                }
            }
        }
    }

    @Test("activation quantisation: d = max|x| / 127, q = x / d rounded", arguments: Kernels.allSupported)
    func activationQuantization(kernels: Kernels) {
        var inputs = RandomInputs(seed: 10)
        for blocksCount in [1, 3, 7] {
            let x = inputs.floats(32 * blocksCount, in: -5...5)
            var blocks = [wk_block_q8_act](repeating: wk_block_q8_act(), count: blocksCount)
            kernels.c.quantize_q8_act(x, &blocks, x.count)
            for b in 0..<blocksCount {
                let values = x[(b * 32)..<(b * 32 + 32)].map(Double.init)
                let d = values.map(abs).max()! / 127
                #expect(abs(Double(blocks[b].d) - d) <= d * 1e-6)
                let q = withUnsafeBytes(of: blocks[b].qs) { $0.map { Double(Int8(bitPattern: $0)) } }
                for (value, quantized) in zip(values, q) {
                    // Round to nearest; exactly halfway values may go either way.
                    #expect(abs(value / d - quantized) <= 0.5 + 1e-5, "block \(b): \(value / d) → \(quantized)")
                }
            }
        }
        // The same bits as the plain float loop: d = max|x| / 127, q = x · (1/d) rounded to
        // nearest even, for blocks with halfway values and a block of zeros.
        var x = inputs.floats(32 * 5, in: -5...5)
        for i in 32..<64 { x[i] = 0 }
        for i in 64..<96 { x[i] = Float(i - 80) / 2 }              // d = 8 / 127: halves of d·127/8 steps
        var blocks = [wk_block_q8_act](repeating: wk_block_q8_act(), count: 5)
        kernels.c.quantize_q8_act(x, &blocks, x.count)
        for b in 0..<5 {
            let values = x[(b * 32)..<(b * 32 + 32)]
            let d = values.map(abs).max()! / 127, id: Float = d != 0 ? 1 / d : 0
            #expect(blocks[b].d == d)
            let q = withUnsafeBytes(of: blocks[b].qs) { $0.map { Int8(bitPattern: $0) } }
            #expect(q == values.map { Int8(($0 * id).rounded(.toNearestOrEven)) }, "block \(b)")
        }
    }

    @Test("decodeRows equals WeightFormats' decoding of the same rows", arguments: [GGMLType.f16, .bf16, .q8_0, .q4_K, .q6_K],
          Kernels.allSupported)
    func decodeRows(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 12)
        let columns = max(type.blockSize, 32) * 2
        let weights = try RandomMatrix(type: type, rows: 9, columns: columns, inputs: &inputs, kernels: kernels)
        var rows = [Float](repeating: .nan, count: 4 * columns)
        rows.withUnsafeMutableBufferPointer { weights.matrix.decodeRows(3..<7, into: $0.baseAddress!) }
        #expect(rows.doubles == Array(weights.decoded[(3 * columns)..<(7 * columns)]))
    }
}

/// The C kernels' conversions and dot product on their own, in every tier.
@Suite struct FloatKernelTests {
    @Test("f16 to f32 agrees with Swift's Float16 for all 65,536 bit patterns, at every tail length",
          arguments: Kernels.allSupported)
    func halves(kernels: Kernels) {
        let patterns = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: patterns.count)
        out.withUnsafeMutableBufferPointer { kernels.c.convert_f16(patterns, $0.baseAddress!, patterns.count) }
        for (bits, value) in zip(patterns, out) {
            let expected = Float(Float16(bitPattern: bits))
            #expect(value.bitPattern == expected.bitPattern || (value.isNaN && expected.isNaN), "0x\(String(bits, radix: 16))")
        }
        for count in 0..<17 {
            var tail = [Float](repeating: .nan, count: count + 1)
            tail.withUnsafeMutableBufferPointer { kernels.c.convert_f16(Array(patterns[1000..<(1000 + count)]), $0.baseAddress!, count) }
            #expect(tail.prefix(count).map(\.bitPattern) == out[1000..<(1000 + count)].map(\.bitPattern))
            #expect(tail[count].isNaN, "wrote past \(count)")
        }
    }

    @Test("bf16 to f32 is the upper half of the float's bits, for all 65,536 patterns", arguments: Kernels.allSupported)
    func brainFloats(kernels: Kernels) {
        let patterns = (0...UInt16.max).map { $0 }
        var out = [Float](repeating: 0, count: patterns.count)
        out.withUnsafeMutableBufferPointer { kernels.c.convert_bf16(patterns, $0.baseAddress!, patterns.count) }
        #expect(out.map(\.bitPattern) == patterns.map { UInt32($0) << 16 })
    }

    @Test("dot product on lengths 0 to 70", arguments: Kernels.allSupported)
    func dot(kernels: Kernels) {
        var inputs = RandomInputs(seed: 13)
        for count in 0...70 {
            let a = inputs.floats(count), b = inputs.floats(count)
            let dot = kernels.c.dot_f32(a, b, count)
            let reference = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let scale = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            expectClose([dot], [reference], scale: [max(scale, 1e-30)], tolerance: 1e-6, "\(count)")
        }
    }
}
