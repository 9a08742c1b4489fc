import CKernels
import WeightFormats

/// Products of quantised weights other than Q8_0 against activations quantised to 8 bits
/// (`ComputeContext.activations == .quantized`, the default): the 32-element types Q4_0, Q4_1,
/// Q5_0, Q5_1 and IQ4_NL against x in `wk_block_q8_act` blocks (one scale per 32, as Q8_0), the
/// K-quants Q2_K … Q6_K and IQ4_XS against `wk_block_q8_k_act` (one scale per 256 and the sums
/// of each 16, which carry the K-quants' minimums). The kernels (CKernels bodies/qdot.h) sum
/// the products of the stored integers in integers and scale once per block.
extension WeightMatrix {
    /// The `WK_QUANT_*` number of `matvec_quant` / `gemm_quant` for a type they take.
    static func integerKernelType(_ type: GGMLType) -> Int32? {
        switch type {
        case .q4_0: Int32(WK_QUANT_Q4_0)
        case .q4_1: Int32(WK_QUANT_Q4_1)
        case .q5_0: Int32(WK_QUANT_Q5_0)
        case .q5_1: Int32(WK_QUANT_Q5_1)
        case .iq4_NL: Int32(WK_QUANT_IQ4_NL)
        case .q2_K: Int32(WK_QUANT_Q2_K)
        case .q3_K: Int32(WK_QUANT_Q3_K)
        case .q4_K: Int32(WK_QUANT_Q4_K)
        case .q5_K: Int32(WK_QUANT_Q5_K)
        case .q6_K: Int32(WK_QUANT_Q6_K)
        case .iq4_XS: Int32(WK_QUANT_IQ4_XS)
        default: nil
        }
    }

    /// Bytes of one row of quantised activations for `type` (blocks of 32 or of 256).
    static func activationBytes(_ type: GGMLType, columns: Int) -> Int {
        type.blockSize == 32 ? columns / 32 * MemoryLayout<wk_block_q8_act>.stride
            : columns / 256 * MemoryLayout<wk_block_q8_k_act>.stride
    }

    /// Quantises `count` rows of x (each `columns` long) for `type`'s kernels into `out`.
    static func quantizeActivations(_ x: UnsafePointer<Float>, rows count: Int, columns: Int, for type: GGMLType,
                                    into out: UnsafeMutableRawPointer, kernels k: wk_kernels) {
        if type.blockSize == 32 {
            k.quantize_q8_act(x, out.assumingMemoryBound(to: wk_block_q8_act.self), count * columns)
        } else {
            k.quantize_q8_k_act(x, out.assumingMemoryBound(to: wk_block_q8_k_act.self), count * columns)
        }
    }

    /// Decode: x quantised once, then `matvec_quant` over the rows, shared out as the float rows.
    func multiplyVectorIntegers(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, team: WorkerTeam,
                                context: ComputeContext) {
        let k = context.kernels.c, kernelType = Self.integerKernelType(type)!
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: Self.activationBytes(type, columns: columns), alignment: 64)
        defer { quantized.deallocate() }
        Self.quantizeActivations(x, rows: 1, columns: columns, for: type, into: quantized, kernels: k)
        let blocks = columns / type.blockSize
        Self.forRowChunks(of: rows, on: team) { chunk in
            k.matvec_quant(kernelType, base + chunk.lowerBound * rowStride, rowStride, chunk.count, blocks, quantized,
                           y + chunk.lowerBound)
        }
    }

    /// Rows of a prefill share that `gemm_quant` unpacks together: shares are multiples of it.
    static let integerRowGroup = 4

    /// Prefill: the rows of x quantised once (spread over the team), then, with AVX-512 VNNI,
    /// `gemm_quant_panels` over shares of 32-row panels (each thread repacks its rows, as the
    /// Q8_0 prefill does; the 32-element types also take the block sums of x), otherwise
    /// `gemm_quant` over shares of weight rows; each thread with its own buffer.
    func multiplyIntegers(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let k = context.kernels.c, kernelType = Self.integerKernelType(type)!
        let rowBytes = Self.activationBytes(type, columns: columns)
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: m * rowBytes, alignment: 64)
        defer { quantized.deallocate() }
        let panels = k.gemm_quant_panels_vectorized != 0
        let blocks = columns / type.blockSize
        let sums: UnsafeMutablePointer<Int32>? = panels && type.blockSize == 32 ? .allocate(capacity: m * blocks) : nil
        defer { sums?.deallocate() }
        let columns = columns, type = type
        context.team.forChunks(of: m, minimumChunk: 8) { tokens in
            Self.quantizeActivations(x + tokens.lowerBound * columns, rows: tokens.count, columns: columns, for: type,
                                     into: quantized + tokens.lowerBound * rowBytes, kernels: k)
            if let sums {
                let first = tokens.lowerBound * blocks
                k.sum_q8_act((quantized + tokens.lowerBound * rowBytes).assumingMemoryBound(to: wk_block_q8_act.self),
                             tokens.count * blocks, sums + first)
            }
        }
        let scratchFloats = (Int(WK_GEMM_QUANT_SCRATCH_BYTES) + 3) / 4
        if panels {
            let panelCount = (rows + Self.gemmPanelRows - 1) / Self.gemmPanelRows
            context.team(parallel: panelCount > 1).forChunks(of: panelCount, minimumChunk: 1) { share in
                let first = share.lowerBound * Self.gemmPanelRows
                let count = min(rows, share.upperBound * Self.gemmPanelRows) - first
                let scratch = context.scratch.take(scratchFloats)
                defer { context.scratch.give(scratch, capacity: scratchFloats) }
                k.gemm_quant_panels(kernelType, base + first * rowStride, rowStride, count, blocks, quantized, sums, m,
                                    y + first, rows, scratch)
            }
            return
        }
        let group = Self.integerRowGroup
        let team = context.team(parallel: rows >= 2 * group)
        team.forChunks(of: rows, minimumChunk: group, multiple: group) { share in
            let scratch = context.scratch.take(scratchFloats)
            defer { context.scratch.give(scratch, capacity: scratchFloats) }
            k.gemm_quant(kernelType, base + share.lowerBound * rowStride, rowStride, share.count, blocks, quantized, m,
                         y + share.lowerBound, rows, scratch)
        }
    }
}

/// Decode products of the lattice, ternary and FP4 types against 8-bit activations (CKernels
/// bodies/qdot_lattice.h): x quantised once (blocks of 256; of 32 for MXFP4, NVFP4, Q1_0, Q2_0), then
/// `matvec_lattice` over the rows. Prefill of these types keeps decode-then-float-product.
extension WeightMatrix {
    /// The `WK_QUANT_*` number of `matvec_lattice` for a type whose decode product it takes:
    /// the types where it measured faster than decode-then-dot (Docs/MODELS.md, "Matrix products").
    static func latticeKernelType(_ type: GGMLType) -> Int32? {
        switch type {
        case .iq2_XXS: Int32(WK_QUANT_IQ2_XXS)
        case .iq2_XS: Int32(WK_QUANT_IQ2_XS)
        case .iq2_S: Int32(WK_QUANT_IQ2_S)
        case .iq3_XXS: Int32(WK_QUANT_IQ3_XXS)
        case .iq3_S: Int32(WK_QUANT_IQ3_S)
        case .iq1_S: Int32(WK_QUANT_IQ1_S)
        case .iq1_M: Int32(WK_QUANT_IQ1_M)
        case .tq1_0: Int32(WK_QUANT_TQ1_0)
        case .tq2_0: Int32(WK_QUANT_TQ2_0)
        case .mxfp4: Int32(WK_QUANT_MXFP4)
        case .nvfp4: Int32(WK_QUANT_NVFP4)
        case .q1_0: Int32(WK_QUANT_Q1_0)
        case .q2_0: Int32(WK_QUANT_Q2_0)
        default: nil
        }
    }

    /// Decode with `matvec_lattice`, shared out as the float rows.
    func multiplyVectorLattice(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, team: WorkerTeam,
                               context: ComputeContext) {
        let k = context.kernels.c, kernelType = Self.latticeKernelType(type)!
        // Blocks of 256 values read the 256-value activation blocks; those of 32, 64 and 128 the 32-value ones.
        let activations: GGMLType = type.blockSize == 256 ? type : .q8_0
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: Self.activationBytes(activations, columns: columns),
                                                         alignment: 64)
        defer { quantized.deallocate() }
        Self.quantizeActivations(x, rows: 1, columns: columns, for: activations, into: quantized, kernels: k)
        let blocks = columns / type.blockSize
        Self.forRowChunks(of: rows, on: team) { chunk in
            k.matvec_lattice(kernelType, base + chunk.lowerBound * rowStride, rowStride, chunk.count, blocks, quantized,
                             y + chunk.lowerBound)
        }
    }
}
