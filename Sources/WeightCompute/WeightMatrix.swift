import CKernels
import Synchronization
import WeightFormats

/// A weight matrix `[rows, columns]` (rows are output features, as `nn.Linear` stores them)
/// read in place in its stored type: float32, float16, bfloat16, Q8_0, K-quants or any other
/// decodable ggml type. Nothing is converted up front.
///
/// `apply` computes `y[M, rows] = x[M, columns] · Wᵀ`:
/// - one row of x (decode): a matrix-vector product that reads every weight once, split over
///   threads by rows (a `WorkerTeam`, whose threads stay awake between products); float types
///   use vector kernels; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL (against x quantised to 8 bits
///   per 32-block) and Q2_K … Q6_K, IQ4_XS (per 256-block) integer dot products, as llama.cpp
///   does (`ComputeContext.activations`; with `.exact`, and for every other type, each row is
///   decoded and dotted in float32);
/// - several rows (prefill): bfloat16 with AVX-512 BF16 dot products against x rounded to
///   bfloat16 (`gemm_bf16_dot`), float32 and float16 (and bfloat16 without AVX-512 BF16) with
///   `gemm` on the mapping (each thread packs its share of weight rows to float32 in
///   cache-sized panels), or, without its
///   vector path, float32 as one OpenBLAS sgemm; Q8_0 as int8 block products against x
///   quantised once (`gemm_q8_0_panels`, repacked the same way), the other integer types as
///   `gemm_quant_panels` (the same panels, unpacked from each type; without VNNI `gemm_quant`,
///   groups of rows unpacked once per chunk and reused by every token); with
///   `.exact` activations, and for every other type, single-threaded sgemm on blocks of
///   rows decoded to float32, spread over a `WorkerTeam`.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let type: GGMLType
    public let base: UnsafeRawPointer
    public let rowStride: Int
    /// Keeps the memory alive (a MappedFile, or an array box).
    let owner: AnyObject?
    /// The instruction-set tier the matrix's own decoding runs in (products use the context's).
    public let kernels: Kernels

    public init(rows: Int, columns: Int, type: GGMLType, base: UnsafeRawPointer, owner: AnyObject?, kernels: Kernels = .best) {
        precondition(columns % type.blockSize == 0, "row length must be a whole number of blocks")
        self.rows = rows
        self.columns = columns
        self.type = type
        self.base = base
        self.rowStride = columns / type.blockSize * type.bytesPerBlock
        self.owner = owner
        self.kernels = kernels
    }

    /// A matrix with no rows: a placeholder for a weight that could not be bound (binders report
    /// those and never compute with it).
    public static let empty: WeightMatrix = {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: 64)
        return WeightMatrix(rows: 0, columns: 0, type: .f32, base: memory, owner: nil)
    }()

    /// Rows below which a product stays on one thread.
    static let parallelRowThreshold = 64

    /// y[M, rows] = x[M, columns] · Wᵀ.
    public func apply(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        context.observer?.observe(self, input: x, rows: m)
        if m == 1 {
            multiplyVector(x, into: y, context: context)
        } else if type == .bf16, columns % 2 == 0, context.kernels.c.gemm_bf16_dot_vectorized != 0 {
            multiplyBFloat16Pairs(x, count: m, into: y, context: context)
        } else if let gemmType = Self.gemmType(type, kernels: context.kernels) {
            multiplyFloatRows(x, count: m, into: y, gemmType: gemmType, context: context)
        } else if type == .f32 {
            multiplyFloat32Blocks(x, count: m, into: y, context: context)
        } else {
            multiplyBlocks(x, count: m, into: y, context: context)
        }
    }

    /// Decodes row `index` to Float.
    public func decodeRow(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        decodeRows(index..<(index + 1), into: destination)
    }

    /// Decodes a range of rows to Float (`range.count * columns` values).
    public func decodeRows(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let source = base + range.lowerBound * rowStride
        switch type {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: range.count * columns * 4)
        case .f16:
            kernels.c.convert_f16(source, destination, range.count * columns)
        case .bf16:
            kernels.c.convert_bf16(source, destination, range.count * columns)
        default:
            kernels.decoder(for: type)!(source, destination, range.count * columns)
        }
    }

    // MARK: Decode: matrix-vector products

    /// Splits the rows of a matrix-vector product over `team`: chunks of whole row groups (see
    /// `WK_MATVEC_ROW_GROUP`), each thread running a contiguous share of them as one sequential
    /// stream (see `WorkerTeam`).
    static func forRowChunks(of rows: Int, on team: WorkerTeam, _ body: (Range<Int>) -> Void) {
        let group = Int(WK_MATVEC_ROW_GROUP)
        team.forChunks(of: rows, minimumChunk: group, multiple: group, body)
    }

    /// Whether `apply(_:to:count:context:)` runs this type's matrix-vector kernel in the shared
    /// loop: float types, and the quantised types with integer kernels when the context
    /// quantises activations.
    static func sharesLoop(_ type: GGMLType, context: ComputeContext) -> Bool {
        switch type {
        case .f32, .f16, .bf16: return true
        default: return context.activations == .quantized && (type == .q8_0 || integerKernelType(type) != nil)
        }
    }

    /// y_i = x · W_iᵀ for several matrices that read the same x (a layer's q, k and v; gate and
    /// up). For one token with float or Q8_0 weights the products share one team loop (and one
    /// quantisation of x), which saves a round of waking and waiting per matrix; otherwise each
    /// is applied in turn.
    public static func apply(
        _ products: [(matrix: WeightMatrix, output: UnsafeMutablePointer<Float>)], to x: UnsafePointer<Float>,
        count m: Int, context: ComputeContext
    ) {
        if m > 1, products.count > 1, let first = products.first, let gemmType = gemmType(first.matrix.type, kernels: context.kernels),
           products.allSatisfy({ $0.matrix.type == first.matrix.type && $0.matrix.columns == first.matrix.columns }),
           first.matrix.type != .bf16 || context.kernels.c.gemm_bf16_dot_vectorized == 0 {
            multiplyFloatRows(products, x, count: m, gemmType: gemmType, context: context)
            return
        }
        guard m == 1, let first = products.first,
              products.allSatisfy({ sharesLoop($0.matrix.type, context: context) && $0.matrix.columns == first.matrix.columns })
        else {
            for product in products { product.matrix.apply(x, count: m, into: product.output, context: context) }
            return
        }
        if let observer = context.observer { for product in products { observer.observe(product.matrix, input: x, rows: m) } }
        let columns = first.matrix.columns, blocks = columns / 32
        let k = context.kernels.c
        var quantized: UnsafeMutablePointer<wk_block_q8_act>?
        if products.contains(where: { $0.matrix.type.blockSize == 32 }) {
            quantized = .allocate(capacity: blocks)
            k.quantize_q8_act(x, quantized!, columns)
        }
        defer { quantized?.deallocate() }
        var superQuantized: UnsafeMutablePointer<wk_block_q8_k_act>?
        if products.contains(where: { $0.matrix.type.blockSize == 256 }) {
            superQuantized = .allocate(capacity: columns / 256)
            k.quantize_q8_k_act(x, superQuantized!, columns)
        }
        defer { superQuantized?.deallocate() }
        // The products' rows one after another, shared out as one loop; a chunk that spans two
        // matrices runs the end of one and the start of the next.
        var starts = [0]
        for product in products { starts.append(starts.last! + product.matrix.rows) }
        let team = context.team(parallel: starts.last! >= parallelRowThreshold)
        forRowChunks(of: starts.last!, on: team) { chunk in
            for (index, (matrix, y)) in products.enumerated() {
                let lower = max(chunk.lowerBound, starts[index]), upper = min(chunk.upperBound, starts[index + 1])
                if lower >= upper { continue }
                let first = lower - starts[index], rows = upper - lower
                let w = matrix.base + first * matrix.rowStride
                switch matrix.type {
                case .q8_0: k.matvec_q8_0(w, matrix.rowStride, rows, blocks, quantized!, y + first)
                case .f16: k.matvec_f16(w, matrix.rowStride, rows, columns, x, y + first)
                case .bf16: k.matvec_bf16(w, matrix.rowStride, rows, columns, x, y + first)
                case .f32: k.matvec_f32(w, matrix.rowStride, rows, columns, x, y + first)
                default:
                    let small = matrix.type.blockSize == 32
                    k.matvec_quant(integerKernelType(matrix.type)!, w, matrix.rowStride, rows, columns / matrix.type.blockSize,
                                   small ? UnsafeRawPointer(quantized!) : UnsafeRawPointer(superQuantized!), y + first)
                }
            }
        }
    }

    func multiplyVector(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let team = context.team(parallel: rows >= Self.parallelRowThreshold)
        let k = context.kernels.c
        switch type {
        case .f32, .f16, .bf16:
            let kernel = type == .f32 ? k.matvec_f32 : (type == .f16 ? k.matvec_f16 : k.matvec_bf16)
            Self.forRowChunks(of: rows, on: team) { chunk in
                kernel(base + chunk.lowerBound * rowStride, rowStride, chunk.count, columns, x, y + chunk.lowerBound)
            }
        case .q8_0 where context.activations == .quantized:
            let blocks = columns / 32
            let quantized = UnsafeMutablePointer<wk_block_q8_act>.allocate(capacity: blocks)
            defer { quantized.deallocate() }
            k.quantize_q8_act(x, quantized, columns)
            Self.forRowChunks(of: rows, on: team) { chunk in
                k.matvec_q8_0(base + chunk.lowerBound * rowStride, rowStride, chunk.count, blocks, quantized, y + chunk.lowerBound)
            }
        case _ where context.activations == .quantized && Self.integerKernelType(type) != nil:
            multiplyVectorIntegers(x, into: y, team: team, context: context)
        case _ where context.activations == .quantized && Self.latticeKernelType(type) != nil:
            multiplyVectorLattice(x, into: y, team: team, context: context)
        default:
            let decode = context.kernels.decoder(for: type)!
            Self.forRowChunks(of: rows, on: team) { chunk in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
                defer { row.deallocate() }
                for index in chunk {
                    decode(base + index * rowStride, row, columns)
                    y[index] = k.dot_f32(row, x, columns)
                }
            }
        }
    }

    // MARK: Prefill: float rows in place

    /// The `gemm` type for float32, float16 and bfloat16 weights, where that kernel has a
    /// vector path on this build.
    static func gemmType(_ type: GGMLType, kernels: Kernels) -> Int32? {
        guard kernels.c.gemm_vectorized != 0 else { return nil }
        switch type {
        case .f32: return Int32(WK_GEMM_F32)
        case .f16: return Int32(WK_GEMM_F16)
        case .bf16: return Int32(WK_GEMM_BF16)
        default: return nil
        }
    }

    /// Weight rows per `gemm` panel: row shares are whole panels.
    static let gemmPanelRows = 32

    /// Several rows of x against float32/16 and bfloat16 weights: `gemm` on the mapping,
    /// the weight rows shared out over a `WorkerTeam` in whole panels. Each thread converts
    /// its panels to float32 as it packs them, so nothing is decoded ahead and BLAS's threads
    /// stay asleep.
    func multiplyFloatRows(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>,
                           gemmType: Int32, context: ComputeContext) {
        let gemm = context.kernels.c.gemm
        forPanelShares(context: context) { first, count, scratch in
            gemm(gemmType, base + first * rowStride, rowStride, count, columns, x, columns, m, y + first, rows, scratch)
        }
    }

    /// Several matrices of one float type that read the same rows of x (q, k and v; gate and
    /// up): their `gemm` panels one after another, shared out as one loop over the team (one
    /// wake-up instead of one per matrix, and shares that balance across the matrices). Each
    /// panel is computed as `multiplyFloatRows` computes it, so the values are the same.
    static func multiplyFloatRows(_ products: [(matrix: WeightMatrix, output: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>,
                                  count m: Int, gemmType: Int32, context: ComputeContext) {
        if let observer = context.observer { for product in products { observer.observe(product.matrix, input: x, rows: m) } }
        var starts = [0]
        for product in products { starts.append(starts.last! + (product.matrix.rows + gemmPanelRows - 1) / gemmPanelRows) }
        let gemm = context.kernels.c.gemm
        let scratchCount = Int(WK_GEMM_SCRATCH_FLOATS)
        context.team(parallel: starts.last! >= 2).forChunks(of: starts.last!, minimumChunk: 1) { share in
            let scratch = context.scratch.take(scratchCount)
            defer { context.scratch.give(scratch, capacity: scratchCount) }
            for (index, (matrix, y)) in products.enumerated() {
                let lower = max(share.lowerBound, starts[index]), upper = min(share.upperBound, starts[index + 1])
                if lower >= upper { continue }
                let first = (lower - starts[index]) * gemmPanelRows
                let count = min(matrix.rows, (upper - starts[index]) * gemmPanelRows) - first
                gemm(gemmType, matrix.base + first * matrix.rowStride, matrix.rowStride, count, matrix.columns, x, matrix.columns, m,
                     y + first, matrix.rows, scratch)
            }
        }
    }

    /// Several rows of x against bfloat16 weights as llama.cpp and PyTorch compute them: x
    /// rounded to bfloat16 once, then `gemm_bf16_dot` (AVX-512 BF16, exact products summed
    /// in float32) over panels of rows shared out as in `multiplyFloatRows`.
    func multiplyBFloat16Pairs(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: m * columns)
        defer { rounded.deallocate() }
        let k = context.kernels.c
        k.encode_bf16(x, rounded, m * columns)
        forPanelShares(context: context) { first, count, scratch in
            k.gemm_bf16_dot(base + first * rowStride, rowStride, count, columns, rounded, columns, m, y + first, rows, scratch)
        }
    }

    /// Shares the rows out over a `WorkerTeam` in whole `gemm` panels: `body` gets a share's
    /// first row, its row count and a packing buffer of `wk_gemm_scratch_floats()` floats.
    private func forPanelShares(context: ComputeContext, _ body: (_ first: Int, _ count: Int, _ scratch: UnsafeMutablePointer<Float>) -> Void) {
        let panels = (rows + Self.gemmPanelRows - 1) / Self.gemmPanelRows
        let team = context.team(parallel: panels >= 2)
        let scratchCount = Int(WK_GEMM_SCRATCH_FLOATS)
        team.forChunks(of: panels, minimumChunk: 1) { share in
            let first = share.lowerBound * Self.gemmPanelRows
            let scratch = context.scratch.take(scratchCount)
            defer { context.scratch.give(scratch, capacity: scratchCount) }
            body(first, min(rows, share.upperBound * Self.gemmPanelRows) - first, scratch)
        }
    }

    // MARK: Prefill: sgemm over row blocks

    /// Rows per sgemm call: large enough for sgemm to run at full speed, small enough for a
    /// decoded block to stay in cache (128 rows x 4864 columns x 4 bytes = 2.5 MB).
    static let chunkRows = 128

    /// Several rows of x against float32 weights without `gemm`'s vector path: single-threaded
    /// sgemm on the mapping, the weight rows shared out over the context's threads.
    func multiplyFloat32Blocks(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let perThread = (rows + context.threads - 1) / context.threads
        let block = max(16, (perThread + 15) / 16 * 16)
        let weights = base.assumingMemoryBound(to: Float.self)
        context.team(parallel: rows > block).forChunks(of: rows, minimumChunk: block) { part in
            BLAS.multiplyTransposed(
                m: m, n: part.count, k: columns, a: x, lda: columns,
                b: weights + part.lowerBound * columns, ldb: columns, c: y + part.lowerBound, ldc: rows)
        }
    }

    /// Several rows of x against stored types other than float32: the weight rows are split into
    /// blocks shared out over a `WorkerTeam`; each thread decodes its block to float32 (in a
    /// buffer it reuses) and multiplies it with a single-threaded sgemm. Decoding and multiplying
    /// thus overlap across threads, and no BLAS worker spins against the threads that decode.
    func multiplyBlocks(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let workers = context.threads
        let perThread = (rows + workers - 1) / workers
        let block = max(16, min(Self.chunkRows, (perThread + 15) / 16 * 16))
        let team = context.team(parallel: rows > block)
        if type == .q8_0, context.activations == .quantized {
            multiplyQuantized(x, count: m, into: y, team: context.team, context: context, block: block)
            return
        }
        if context.activations == .quantized, Self.integerKernelType(type) != nil {
            multiplyIntegers(x, count: m, into: y, context: context)
            return
        }
        do {
            team.forChunks(of: rows, minimumChunk: block) { part in
                let decoded = context.scratch.take(block * columns)
                defer { context.scratch.give(decoded, capacity: block * columns) }
                var start = part.lowerBound
                while start < part.upperBound {
                    let count = min(block, part.upperBound - start)
                    decodeRows(start..<(start + count), into: decoded)
                    BLAS.multiplyTransposed(
                        m: m, n: count, k: columns, a: x, lda: columns, b: decoded, ldb: columns, c: y + start, ldc: rows)
                    start += count
                }
            }
        }
    }
}

extension WeightMatrix {
    /// Q8_0 prefill as llama.cpp does it: x quantised to 8 bits per 32-block once (rows of x
    /// spread over the team), then integer block products over the weight rows. With AVX-512
    /// VNNI, each thread repacks its share of rows into 32-row panels (`gemm_q8_0_panels`);
    /// otherwise blocks of rows go to `gemm_q8_0`. The activations carry the same rounding as
    /// in decode (at most half a step, max|block| / 254, per element).
    func multiplyQuantized(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>,
                           team: WorkerTeam, context: ComputeContext, block: Int) {
        let blocks = columns / 32
        let quantized = UnsafeMutablePointer<wk_block_q8_act>.allocate(capacity: m * blocks)
        defer { quantized.deallocate() }
        let k = context.kernels.c
        let panels = k.gemm_q8_0_panels_vectorized != 0
        team.forChunks(of: m, minimumChunk: 8) { tokens in
            let first = quantized + tokens.lowerBound * blocks
            k.quantize_q8_act(x + tokens.lowerBound * columns, first, tokens.count * columns)
            if panels { k.offset_q8_act(first, tokens.count * blocks) }
        }
        guard panels else {
            team.forChunks(of: rows, minimumChunk: min(rows, block)) { part in
                k.gemm_q8_0(base + part.lowerBound * rowStride, rowStride, part.count, blocks, quantized, m, y + part.lowerBound, rows)
            }
            return
        }
        let panelCount = (rows + Self.gemmPanelRows - 1) / Self.gemmPanelRows
        let scratchFloats = (Int(WK_GEMM_Q8_0_SCRATCH_BYTES) + 3) / 4
        team.forChunks(of: panelCount, minimumChunk: 1) { share in
            let first = share.lowerBound * Self.gemmPanelRows
            let count = min(rows, share.upperBound * Self.gemmPanelRows) - first
            let scratch = context.scratch.take(scratchFloats)
            defer { context.scratch.give(scratch, capacity: scratchFloats) }
            k.gemm_q8_0_panels(base + first * rowStride, rowStride, count, blocks, quantized, m, y + first, rows, scratch)
        }
    }
}
