import CKernels
import Testing
import WeightCompute
import WeightFormats

/// The integer products of quantised weights against activations quantised to 8 bits (the
/// default `ComputeContext.activations`), per type and instruction-set tier: exact (to float
/// rounding) against the activations the kernel quantises, and within the quantisation bound
/// of the float32 product. The weights are random blocks of the fixture tensors (see
/// `WeightMatrixTests.RandomMatrix`), decoded by WeightFormats' decoders (checked against
/// gguf-py); references are summed in Double.
@Suite struct IntegerProductTests {
    typealias RandomMatrix = WeightMatrixTests.RandomMatrix

    /// Every type with an integer kernel, 32-element and 256-element.
    static let types: [GGMLType] = [.q4_K, .q6_K, .q5_K, .q4_0, .iq4_XS, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .iq4_NL]

    /// Row lengths: one block, an odd number (the decode loop's two-block steps leave a tail),
    /// and more than one prefill chunk (128 blocks of 32, 16 of 256) with a partial last chunk.
    static func columnCounts(_ type: GGMLType) -> [Int] {
        type.blockSize == 32 ? [32, 96, 32 * 131] : [256, 768, 256 * 17]
    }

    /// x as the kernels multiply it: each element q · d of its quantised block.
    static func quantizedActivations(_ x: [Float], type: GGMLType, kernels: Kernels) -> (values: [Float], steps: [Double]) {
        if type.blockSize == 32 {
            var blocks = [wk_block_q8_act](repeating: wk_block_q8_act(), count: x.count / 32)
            kernels.c.quantize_q8_act(x, &blocks, x.count)
            let values = (0..<x.count).map { i in
                Float(withUnsafeBytes(of: blocks[i / 32].qs) { Double(Int8(bitPattern: $0[i % 32])) } * Double(blocks[i / 32].d))
            }
            return (values, (0..<x.count).map { Double(blocks[$0 / 32].d) })
        }
        var blocks = [wk_block_q8_k_act](repeating: wk_block_q8_k_act(), count: x.count / 256)
        kernels.c.quantize_q8_k_act(x, &blocks, x.count)
        let values = (0..<x.count).map { i in
            Float(withUnsafeBytes(of: blocks[i / 256].qs) { Double(Int8(bitPattern: $0[i % 256])) } * Double(blocks[i / 256].d))
        }
        return (values, (0..<x.count).map { Double(blocks[$0 / 256].d) })
    }

    /// Checks `apply` for `count` tokens on 1 and 2 threads: within 1e-5 of Σ|terms| of the
    /// product with the quantised x, and within Σ d/2 · |w| (the activations' rounding) of the
    /// product with x itself.
    static func check(_ weights: RandomMatrix, type: GGMLType, x: [Float], count: Int, kernels: Kernels, _ label: String) {
        let (rows, columns) = (weights.matrix.rows, weights.matrix.columns)
        let (quantizedX, steps) = quantizedActivations(x, type: type, kernels: kernels)
        let (exact, exactScale) = weights.reference(quantizedX, count: count)
        let (reference, _) = weights.reference(x, count: count)
        var bound = [Double](repeating: 0, count: count * rows)
        for t in 0..<count {
            for r in 0..<rows {
                for c in 0..<columns { bound[t * rows + r] += steps[t * columns + c] / 2 * abs(weights.decoded[r * columns + c]) }
            }
        }
        for threads in [1, 2] {
            let y = weights.apply(x, count: count, threads: threads)
            expectClose(y, exact, scale: exactScale, tolerance: 1e-5, "\(label), \(threads) threads")
            expectClose(y, reference, scale: bound.map { $0 * 1.001 + 1e-6 }, tolerance: 1, "bound: \(label), \(threads) threads")
        }
    }

    @Test("decode: exact against the activation it quantises, within the quantisation bound of the float one",
          arguments: types, Kernels.allSupported)
    func decode(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 300 + UInt64(type.rawValue))
        // Rows around the 12-row chunks the team shares out and the 64-row threading threshold.
        for rows in [1, 5, 13, 64, 67, 131] {
            for columns in Self.columnCounts(type) where columns < 4096 || [5, 67].contains(rows) {
                let weights = try RandomMatrix(type: type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                var x = inputs.floats(columns, in: -3...3)
                x[0] = 0
                if columns >= 3 * type.blockSize { for c in type.blockSize..<(2 * type.blockSize) { x[c] = 0 } }  // scale 0
                Self.check(weights, type: type, x: x, count: 1, kernels: kernels, "\(kernels) \(type.name) [\(rows), \(columns)]")
            }
        }
    }

    @Test("prefill: every token exact against the activation it quantises, as in decode", arguments: types, Kernels.allSupported)
    func prefill(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 400 + UInt64(type.rawValue))
        // Rows around the 4-row groups of `gemm_quant` and the 32-row panels of
        // `gemm_quant_panels` (shared out over two threads from 33 rows), tokens around the
        // panels' 6-token tiles; the columns cross their chunks of 8 blocks of 32 (one of 256).
        for rows in [3, 4, 5, 9, 31, 33, 65] {
            for columns in Self.columnCounts(type) {
                let weights = try RandomMatrix(type: type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                for count in [2, 6, 7, 13] where count * columns <= 13 * 4096 || rows < 9 || (rows == 33 && count == 7) {
                    var x = inputs.floats(count * columns, in: -3...3)
                    for c in 0..<type.blockSize { x[columns + c] = 0 }                 // a block of zeros in token 1
                    Self.check(weights, type: type, x: x, count: count, kernels: kernels,
                               "\(kernels) \(type.name) [\(rows), \(columns)] x \(count) tokens")
                }
            }
        }
    }

    @Test("activations in blocks of 256: d = max|x| / 127, q = x · (1/d) rounded to nearest even, sums of each 16",
          arguments: Kernels.allSupported)
    func activationQuantization(kernels: Kernels) {
        var inputs = RandomInputs(seed: 11)
        var x = inputs.floats(256 * 4, in: -5...5)
        for i in 256..<512 { x[i] = 0 }                                        // a block of zeros
        for i in 512..<768 { x[i] = Float(i - 640) / 16 }                       // halfway values
        var blocks = [wk_block_q8_k_act](repeating: wk_block_q8_k_act(), count: 4)
        kernels.c.quantize_q8_k_act(x, &blocks, x.count)
        for b in 0..<4 {
            let values = x[(b * 256)..<(b * 256 + 256)]
            let d = values.map(abs).max()! / 127, id: Float = d != 0 ? 1 / d : 0
            #expect(blocks[b].d == d, "block \(b)")
            let q = withUnsafeBytes(of: blocks[b].qs) { $0.map { Int8(bitPattern: $0) } }
            #expect(q == values.map { Int8(($0 * id).rounded(.toNearestOrEven)) }, "\(kernels) block \(b)")
            let sums = withUnsafeBytes(of: blocks[b].bsums) { Array($0.bindMemory(to: Int16.self)) }
            #expect(sums == (0..<16).map { g in Int16(q[(16 * g)..<(16 * g + 16)].reduce(0) { $0 + Int($1) }) }, "block \(b)")
        }
    }

    /// The shared decode loop (q, k, v; gate and up) with integer types of both block sizes
    /// gives each matrix's own product bit for bit.
    @Test("products sharing one x: integer types equal the products taken alone", arguments: Kernels.allSupported)
    func sharedInput(kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 32)
        let matrices = try [(GGMLType.q4_K, 67), (.q6_K, 13), (.f16, 20), (.q4_0, 30), (.q8_0, 5)].map { type, rows in
            try RandomMatrix(type: type, rows: rows, columns: 512, inputs: &inputs, kernels: kernels)
        }
        let x = inputs.floats(512, in: -2...2)
        for threads in [1, 2] {
            let outputs = matrices.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.matrix.rows) }
            defer { outputs.forEach { $0.deallocate() } }
            x.withUnsafeBufferPointer { xs in
                WeightMatrix.apply(Array(zip(matrices.map(\.matrix), outputs)), to: xs.baseAddress!, count: 1,
                                   context: ComputeContext(threads: threads, kernels: kernels))
            }
            for (index, weights) in matrices.enumerated() {
                let together = Array(UnsafeBufferPointer(start: outputs[index], count: weights.matrix.rows))
                #expect(together == weights.apply(x, count: 1, threads: threads), "\(weights.matrix.type.name), \(threads) threads")
            }
        }
    }

    /// The two activation modes differ (the quantised one by the activations' rounding), so
    /// the option reaches the products.
    @Test("exact activations give the float product, quantised ones differ from it", arguments: [GGMLType.q4_K, .q4_0])
    func modes(type: GGMLType) throws {
        var inputs = RandomInputs(seed: 33)
        let weights = try RandomMatrix(type: type, rows: 8, columns: 512, inputs: &inputs, kernels: .best)
        for count in [1, 3] {
            let x = inputs.floats(count * 512, in: -2...2)
            let (reference, scale) = weights.reference(x, count: count)
            expectClose(weights.apply(x, count: count, threads: 1, activations: .exact), reference, scale: scale, tolerance: 1e-5)
            let quantized = weights.apply(x, count: count, threads: 1)
            let largest = zip(quantized, reference).map { abs(Double($0) - $1) }.max()!
            #expect(largest > 1e-4, "\(type.name) x \(count): the quantised product equals the float one")
        }
    }
}
