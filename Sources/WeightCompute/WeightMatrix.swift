import CKernels
import WeightFormats

/// A weight matrix `[rows, columns]` (rows are output features, as `nn.Linear` stores them)
/// read in place in its stored type: float32, float16, bfloat16, Q8_0, K-quants or any other
/// decodable ggml type. Nothing is converted up front.
///
/// `apply` computes `y[M, rows] = x[M, columns] · Wᵀ`:
/// - one row of x (decode): a matrix-vector product that reads every weight once, split over
///   threads by rows (a `WorkerTeam`, whose threads stay awake between products); float types
///   and Q8_0 use vector kernels (Q8_0 against x quantised to 8 bits per 32-block, as llama.cpp
///   does), other types decode a row at a time and dot it;
/// - several rows (prefill): OpenBLAS sgemm, straight on the mapping for float32, on row
///   chunks decoded to float32 for every other type.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let type: GGMLType
    public let base: UnsafeRawPointer
    public let rowStride: Int
    /// Keeps the memory alive (a MappedFile, or an array box).
    let owner: AnyObject?

    public init(rows: Int, columns: Int, type: GGMLType, base: UnsafeRawPointer, owner: AnyObject?) {
        precondition(columns % type.blockSize == 0, "row length must be a whole number of blocks")
        self.rows = rows
        self.columns = columns
        self.type = type
        self.base = base
        self.rowStride = columns / type.blockSize * type.bytesPerBlock
        self.owner = owner
    }

    /// Rows below which a product stays on one thread.
    static let parallelRowThreshold = 64

    /// y[M, rows] = x[M, columns] · Wᵀ.
    public func apply(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, threads: Int = 0) {
        if m == 1 {
            multiplyVector(x, into: y, threads: threads)
        } else if type == .f32 {
            BLAS.multiplyTransposed(
                m: m, n: rows, k: columns, a: x, lda: columns,
                b: base.assumingMemoryBound(to: Float.self), ldb: columns, c: y, ldc: rows)
        } else {
            multiplyDecodedChunks(x, count: m, into: y, threads: threads)
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
            wk_convert_f16(source, destination, range.count * columns)
        case .bf16:
            wk_convert_bf16(source, destination, range.count * columns)
        default:
            type.decodeKernel!(source, destination, range.count * columns)
        }
    }

    // MARK: Decode: matrix-vector products

    func multiplyVector(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, threads: Int) {
        let workers = rows < Self.parallelRowThreshold ? 1 : (threads > 0 ? threads : Parallel.processorCount)
        let team = WorkerTeam.shared(threads: workers)
        switch type {
        case .f32, .f16, .bf16:
            let kernel = type == .f32 ? wk_matvec_f32 : (type == .f16 ? wk_matvec_f16 : wk_matvec_bf16)
            team.forChunks(of: rows, minimumChunk: 16) { chunk in
                kernel(base + chunk.lowerBound * rowStride, rowStride, chunk.count, columns, x, y + chunk.lowerBound)
            }
        case .q8_0:
            let blocks = columns / 32
            let quantized = UnsafeMutablePointer<wk_block_q8_act>.allocate(capacity: blocks)
            defer { quantized.deallocate() }
            wk_quantize_q8_act(x, quantized, columns)
            team.forChunks(of: rows, minimumChunk: 16) { chunk in
                wk_matvec_q8_0(base + chunk.lowerBound * rowStride, rowStride, chunk.count, blocks, quantized, y + chunk.lowerBound)
            }
        default:
            team.forChunks(of: rows, minimumChunk: 16) { chunk in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
                defer { row.deallocate() }
                for index in chunk {
                    decodeRow(index, into: row)
                    y[index] = wk_dot_f32(row, x, columns)
                }
            }
        }
    }

    // MARK: Prefill: sgemm over decoded chunks

    /// Rows decoded per sgemm call: large enough for sgemm to run at full speed, small enough to
    /// stay in cache (256 rows x 4864 columns x 4 bytes = 5 MB).
    static let chunkRows = 256

    func multiplyDecodedChunks(_ x: UnsafePointer<Float>, count m: Int, into y: UnsafeMutablePointer<Float>, threads: Int) {
        let chunkRows = min(rows, Self.chunkRows)
        let decoded = UnsafeMutablePointer<Float>.allocate(capacity: chunkRows * columns)
        defer { decoded.deallocate() }
        var start = 0
        while start < rows {
            let count = min(chunkRows, rows - start)
            Parallel.forChunks(of: count, workers: threads, minimumChunk: 32) { part in
                decodeRows((start + part.lowerBound)..<(start + part.upperBound), into: decoded + part.lowerBound * columns)
            }
            BLAS.multiplyTransposed(
                m: m, n: count, k: columns, a: x, lda: columns, b: decoded, ldb: columns, c: y + start, ldc: rows)
            start += count
        }
    }
}
