import CKernels
import Synchronization
import WeightFormats

/// Row quantisation: every type llama.cpp 0.3.36 writes, bit-identical to ggml's
/// `ggml_quantize_chunk`, with or without importance weights (an imatrix's normalised sums, one
/// per column). The kernels are C (`wk_quantize_rows` in CKernels); rows are split over threads.
extension TensorEncoding {
    /// The types `quantizeRows` writes, in ggml id order.
    public static let rowQuantizableTypes: [GGMLType] = GGMLType.allCases.filter { wk_quantize_block_size($0.rawValue) > 0 }

    /// Whether ggml refuses to write `type` without importance weights (IQ2_XXS, IQ2_XS, IQ1_S).
    public static func requiresImportance(_ type: GGMLType) -> Bool { wk_quantize_requires_importance(type.rawValue) != 0 }

    /// Values below which a call stays on the calling thread.
    static let rowParallelThreshold = 1 << 15

    /// Quantises `rows` rows of `rowLength` floats at `source` as `type` into `destination`
    /// (`rows * type.byteCount(elements: rowLength)` bytes), on up to `threads` threads (0: all
    /// cores). Rows are independent, so the bytes do not depend on the thread count.
    ///
    /// - Parameters:
    ///   - importance: nil, or `rowLength` weights shared by every row.
    /// - Throws: `QuantizationError` for a type it cannot write, a row that is not whole
    ///   blocks, missing or mis-sized weights, or values the lattice searches cannot place.
    public static func quantizeRows(
        _ source: UnsafePointer<Float>, rows: Int, rowLength: Int, as type: GGMLType,
        importance: UnsafePointer<Float>?, importanceCount: Int? = nil,
        into destination: UnsafeMutableRawPointer, threads: Int = 0
    ) throws {
        try quantizeRows(source, rows: rows, rowLength: rowLength, as: type, importance: importance, importanceCount: importanceCount,
                         into: destination, threads: threads, vectorLanes: true)
    }

    /// `vectorLanes: false` runs the scalar kernels even where the vector-lane ones exist (tests).
    static func quantizeRows(
        _ source: UnsafePointer<Float>, rows: Int, rowLength: Int, as type: GGMLType,
        importance: UnsafePointer<Float>?, importanceCount: Int?,
        into destination: UnsafeMutableRawPointer, threads: Int, vectorLanes: Bool
    ) throws {
        let blockSize = Int(wk_quantize_block_size(type.rawValue))
        guard blockSize > 0 else { throw QuantizationError.typeNotQuantizable(type: type.name) }
        guard rowLength > 0, rowLength % blockSize == 0, let rowBytes = type.byteCount(elements: rowLength) else {
            throw QuantizationError.rowNotWholeBlocks(type: type.name, rowLength: rowLength, blockSize: blockSize)
        }
        if importance == nil && requiresImportance(type) { throw QuantizationError.importanceRequired(type: type.name) }
        if let count = importanceCount, importance != nil, count != rowLength {
            throw QuantizationError.importanceLength(expected: rowLength, found: count)
        }
        guard rows > 0 else { return }
        let workers = rows * rowLength < rowParallelThreshold ? 1 : threads
        let minimumRows = max(1, (rowParallelThreshold / 2) / rowLength)
        nonisolated(unsafe) let source = source, destination = destination, importance = importance
        let failed = Atomic<Bool>(false)
        Parallel.forChunks(of: rows, workers: workers, minimumChunk: minimumRows) { chunk in
            let status = wk_quantize_rows_choosing(
                type.rawValue, source + chunk.lowerBound * rowLength, destination + chunk.lowerBound * rowBytes,
                Int64(chunk.count), Int64(rowLength), importance, vectorLanes ? 1 : 0)
            if status != 0 { failed.store(true, ordering: .relaxed) }
        }
        if failed.load(ordering: .relaxed) { throw QuantizationError.quantizationFailed(type: type.name) }
    }

    /// Quantises `values` (whole rows of `rowLength`) as `type`; returns the stored bytes.
    public static func quantizeRows(
        _ values: [Float], rowLength: Int, as type: GGMLType, importance: [Float]? = nil, threads: Int = 0
    ) throws -> [UInt8] {
        try quantizeRows(values, rowLength: rowLength, as: type, importance: importance, threads: threads, vectorLanes: true)
    }

    static func quantizeRows(
        _ values: [Float], rowLength: Int, as type: GGMLType, importance: [Float]?, threads: Int, vectorLanes: Bool
    ) throws -> [UInt8] {
        guard rowLength > 0, values.count % rowLength == 0 else {
            throw QuantizationError.rowNotWholeBlocks(type: type.name, rowLength: rowLength, blockSize: type.blockSize)
        }
        guard let rowBytes = type.byteCount(elements: rowLength) else {
            throw QuantizationError.rowNotWholeBlocks(type: type.name, rowLength: rowLength, blockSize: type.blockSize)
        }
        let rows = values.count / rowLength
        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        try values.withUnsafeBufferPointer { source in
            try bytes.withUnsafeMutableBytes { destination in
                guard let base = source.baseAddress, let output = destination.baseAddress else { return }
                if let importance {
                    try importance.withUnsafeBufferPointer { weights in
                        try quantizeRows(base, rows: rows, rowLength: rowLength, as: type, importance: weights.baseAddress,
                                         importanceCount: weights.count, into: output, threads: threads, vectorLanes: vectorLanes)
                    }
                } else {
                    try quantizeRows(base, rows: rows, rowLength: rowLength, as: type, importance: nil, importanceCount: nil,
                                     into: output, threads: threads, vectorLanes: vectorLanes)
                }
            }
        }
        return bytes
    }
}
