import WeightFormats

/// Produces a planned tensor's stored bytes in pieces of bounded size: source rows are copied
/// as stored when nothing changes, otherwise decoded to float, reordered and encoded, a chunk
/// of rows at a time. Source pages are released after use, so resident memory stays near two
/// chunk buffers whatever the model size.
public final class TensorStreamer {
    /// Floats per decode/encode chunk (16 MiB).
    public let chunkElements: Int
    /// Bytes per raw copy.
    let copyBytes = 8 << 20
    private var floats: [Float] = []
    private var encoded: [UInt8] = []

    public init(chunkElements: Int = 1 << 22) {
        self.chunkElements = chunkElements
    }

    /// Hands `tensor`'s bytes to `sink` in order.
    public func stream(_ tensor: PlannedTensor, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch tensor.content {
        case .values(let values):
            guard let type = tensor.type.ggmlType, TensorEncoding.canEncode(type) else {
                throw ConversionError.tensorNotConvertible(tensor: tensor.name, reason: "cannot encode \(tensor.type.name)")
            }
            try TensorEncoding.encode(values, as: type).withUnsafeBytes { try sink($0) }
        case .pieces(let pieces):
            for piece in pieces {
                try piece.view.checkMaterializable()
                guard piece.view.rowLength == tensor.rowLength else {
                    throw ConversionError.tensorNotConvertible(
                        tensor: tensor.name, reason: "rows of \(piece.view.rowLength) from '\(piece.view.name)', expected \(tensor.rowLength)")
                }
                if piece.rowOrder == nil && piece.valueOffset == 0 && piece.adjustment == nil && sameStorage(piece.view.dtype, tensor.type) && piece.view.byteOrder == .littleEndian {
                    try copy(piece, to: sink)
                } else {
                    try convert(piece, of: tensor, to: sink)
                }
                release(piece)
            }
        }
    }

    private func copy(_ piece: TensorPiece, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let view = piece.view
        var start = view.offset + piece.rows.lowerBound * view.rowByteCount
        let end = view.offset + piece.rows.upperBound * view.rowByteCount
        while start < end {
            let count = min(copyBytes, end - start)
            try sink(UnsafeRawBufferPointer(rebasing: view.file.bytes[start..<(start + count)]))
            view.file.advise(.dontNeed, offset: start, count: count)
            start += count
        }
    }

    private func convert(_ piece: TensorPiece, of tensor: PlannedTensor, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard let type = tensor.type.ggmlType, TensorEncoding.canEncode(type) else {
            throw ConversionError.tensorNotConvertible(
                tensor: tensor.name, reason: "cannot convert \(piece.view.dtype.name) to \(tensor.type.name)")
        }
        let rowLength = tensor.rowLength
        guard rowLength % type.blockSize == 0 else {
            throw FormatError.rowNotMultipleOfBlock(tensor: tensor.name, rowLength: rowLength, blockSize: type.blockSize, type: type.name)
        }
        let rowsPerChunk = max(1, chunkElements / max(1, rowLength))
        let rowBytes = rowLength / type.blockSize * type.bytesPerBlock
        let chunkRows = min(rowsPerChunk, piece.rowCount)
        if floats.count < chunkRows * rowLength { floats = [Float](repeating: 0, count: chunkRows * rowLength) }
        if encoded.count < chunkRows * rowBytes { encoded = [UInt8](repeating: 0, count: chunkRows * rowBytes) }
        var done = 0
        while done < piece.rowCount {
            let rows = min(rowsPerChunk, piece.rowCount - done)
            try floats.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress!
                if let order = piece.rowOrder {
                    for i in 0..<rows {
                        let source = order[done + i]
                        try piece.view.decodeRows(source..<(source + 1), into: base + i * rowLength)
                        piece.adjustment?(source, base + i * rowLength, rowLength)
                    }
                } else {
                    let first = piece.rows.lowerBound + done
                    try piece.view.decodeRows(first..<(first + rows), into: base, threads: 0)
                    // Drop the source pages now, not after the whole tensor: one embedding
                    // matrix can be hundreds of megabytes.
                    let view = piece.view
                    view.file.advise(.dontNeed, offset: view.offset + first * view.rowByteCount, count: rows * view.rowByteCount)
                    if let adjustment = piece.adjustment {
                        for i in 0..<rows { adjustment(first + i, base + i * rowLength, rowLength) }
                    }
                }
                if piece.valueOffset != 0 {
                    for i in 0..<(rows * rowLength) { base[i] += piece.valueOffset }
                    if piece.offsetPrecision == .f16 {
                        for i in 0..<(rows * rowLength) { base[i] = Float(Float16(base[i])) }
                    }
                }
                encoded.withUnsafeMutableBytes { out in
                    TensorEncoding.encode(base, count: rows * rowLength, as: type, into: out.baseAddress!)
                }
            }
            try encoded.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<(rows * rowBytes)])) }
            done += rows
        }
    }

    /// Whether two dtypes store elements identically (safetensors' F32 is ggml's F32).
    func sameStorage(_ a: TensorDType, _ b: TensorDType) -> Bool {
        if let x = a.ggmlType, let y = b.ggmlType { return x == y }
        return a == b
    }

    private func release(_ piece: TensorPiece) {
        let view = piece.view
        view.file.advise(.dontNeed, offset: view.offset, count: view.byteCount)
    }
}
