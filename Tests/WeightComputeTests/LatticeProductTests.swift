import CKernels
import Testing
import WeightCompute
import WeightFormats

/// The decode products of the lattice, ternary and MXFP4 types against 8-bit activations
/// (`matvec_lattice`, CKernels bodies/qdot_lattice.h), per type and instruction-set tier: exact
/// (to float rounding) against the activations the kernel quantises, and within the
/// quantisation bound of the float32 product (as IntegerProductTests). The weights are random
/// blocks of the fixture tensors, decoded by WeightFormats' decoders (checked against gguf-py).
@Suite struct LatticeProductTests {
    typealias RandomMatrix = WeightMatrixTests.RandomMatrix

    /// Every type `matvec_lattice` takes, with its WK_QUANT_* number.
    static let kernelTypes: [(GGMLType, Int32)] = [
        (.iq2_XXS, Int32(WK_QUANT_IQ2_XXS)), (.iq2_XS, Int32(WK_QUANT_IQ2_XS)), (.iq2_S, Int32(WK_QUANT_IQ2_S)),
        (.iq3_XXS, Int32(WK_QUANT_IQ3_XXS)), (.iq3_S, Int32(WK_QUANT_IQ3_S)), (.iq1_S, Int32(WK_QUANT_IQ1_S)),
        (.iq1_M, Int32(WK_QUANT_IQ1_M)), (.tq1_0, Int32(WK_QUANT_TQ1_0)), (.tq2_0, Int32(WK_QUANT_TQ2_0)),
        (.mxfp4, Int32(WK_QUANT_MXFP4)), (.nvfp4, Int32(WK_QUANT_NVFP4)), (.q1_0, Int32(WK_QUANT_Q1_0)),
        (.q2_0, Int32(WK_QUANT_Q2_0)),
    ]
    static let types = kernelTypes.map(\.0)

    /// The types whose decode products take the kernel (`ComputeContext.activations == .quantized`):
    /// all of them, since each measured faster than decode-then-dot (Docs/MODELS.md).
    static let enabledTypes: [GGMLType] = types

    /// The fixture's MXFP4 blocks have random E8M0 exponents (scales up to 2^127, whose products
    /// overflow float32): drawn blocks keep exponents 2^-16 … 2^15.
    static func matrix(_ type: GGMLType, rows: Int, columns: Int, inputs: inout RandomInputs, kernels: Kernels) throws
        -> RandomMatrix {
        try RandomMatrix(type: type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels,
                         adjust: type == .mxfp4 ? { block in
                             let e = block.load(as: UInt8.self)
                             block.storeBytes(of: 112 + e % 32, as: UInt8.self)
                         } : nil)
    }

    /// Row lengths: one block, an odd number (MXFP4's two-block steps leave a tail) and many.
    static func columnCounts(_ type: GGMLType) -> [Int] {
        [1, 3, type.blockSize == 256 ? 17 : 4096 / type.blockSize + 3].map { $0 * type.blockSize }
    }

    /// The activation blocks a type's kernel reads: of 256 values for 256-value blocks, else of 32.
    static func activationType(_ type: GGMLType) -> GGMLType { type.blockSize == 256 ? type : .q8_0 }

    /// `IntegerProductTests.check` with the activation blocks of `activationType`.
    static func check(_ weights: RandomMatrix, type: GGMLType, x: [Float], kernels: Kernels, _ label: String) {
        let (rows, columns) = (weights.matrix.rows, weights.matrix.columns)
        let (quantizedX, steps) = IntegerProductTests.quantizedActivations(x, type: activationType(type), kernels: kernels)
        let (exact, exactScale) = weights.reference(quantizedX, count: 1)
        let (reference, _) = weights.reference(x, count: 1)
        let bound = (0..<rows).map { r in
            (0..<columns).reduce(0.0) { $0 + steps[$1] / 2 * abs(weights.decoded[r * columns + $1]) } * 1.001 + 1e-6
        }
        for threads in [1, 2] {
            let y = weights.apply(x, count: 1, threads: threads)
            expectClose(y, exact, scale: exactScale, tolerance: 1e-5, "\(label), \(threads) threads")
            expectClose(y, reference, scale: bound, tolerance: 1, "bound: \(label), \(threads) threads")
        }
    }

    /// The kernel itself, row counts 1 to 13 on one thread: y[r] against the product of the
    /// decoded weights with the dequantised activation blocks, and with x.
    @Test("matvec_lattice: exact against the activation it quantises, within the quantisation bound of the float one",
          arguments: types, Kernels.allSupported)
    func kernel(type: GGMLType, kernels: Kernels) throws {
        let kernelType = Self.kernelTypes.first { $0.0 == type }!.1
        var inputs = RandomInputs(seed: 500 + UInt64(type.rawValue))
        for rows in [1, 2, 5, 13] {
            for columns in Self.columnCounts(type) {
                let weights = try Self.matrix(type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                var x = inputs.floats(columns, in: -3...3)
                if columns >= 3 * type.blockSize { for c in type.blockSize..<(2 * type.blockSize) { x[c] = 0 } }  // scale 0
                let small = type.blockSize != 256
                let (quantizedX, steps) = IntegerProductTests.quantizedActivations(x, type: Self.activationType(type),
                                                                                   kernels: kernels)
                var blocks = [UInt8](repeating: 0, count: small ? columns / 32 * MemoryLayout<wk_block_q8_act>.stride
                                                                : columns / 256 * MemoryLayout<wk_block_q8_k_act>.stride)
                blocks.withUnsafeMutableBytes { raw in
                    if small {
                        kernels.c.quantize_q8_act(x, raw.baseAddress!.assumingMemoryBound(to: wk_block_q8_act.self), columns)
                    } else {
                        kernels.c.quantize_q8_k_act(x, raw.baseAddress!.assumingMemoryBound(to: wk_block_q8_k_act.self), columns)
                    }
                }
                var y = [Float](repeating: .nan, count: rows)
                blocks.withUnsafeBytes { raw in
                    kernels.c.matvec_lattice(kernelType, weights.matrix.base, weights.matrix.rowStride, rows,
                                             columns / type.blockSize, raw.baseAddress!, &y)
                }
                let (exact, exactScale) = weights.reference(quantizedX, count: 1)
                let (reference, _) = weights.reference(x, count: 1)
                let bound = (0..<rows).map { r in
                    (0..<columns).reduce(0.0) { $0 + steps[$1] / 2 * abs(weights.decoded[r * columns + $1]) } * 1.001 + 1e-6
                }
                let label = "\(kernels) \(type.name) [\(rows), \(columns)]"
                expectClose(y, exact, scale: exactScale, tolerance: 1e-5, label)
                expectClose(y, reference, scale: bound, tolerance: 1, "bound: \(label)")
            }
        }
    }

    /// Through `WeightMatrix.apply` (one token) on 1 and 2 threads, rows around the team's
    /// 12-row chunks and the 64-row threading threshold.
    @Test("decode products of the enabled types take the integer kernel over chunk and thread edges",
          arguments: enabledTypes, Kernels.allSupported)
    func decode(type: GGMLType, kernels: Kernels) throws {
        var inputs = RandomInputs(seed: 600 + UInt64(type.rawValue))
        for rows in [1, 13, 64, 67, 131] {
            for columns in Self.columnCounts(type) where columns < 4096 || rows == 67 {
                let weights = try Self.matrix(type, rows: rows, columns: columns, inputs: &inputs, kernels: kernels)
                var x = inputs.floats(columns, in: -3...3)
                x[0] = 0
                Self.check(weights, type: type, x: x, kernels: kernels, "\(kernels) \(type.name) [\(rows), \(columns)]")
            }
        }
    }
}
