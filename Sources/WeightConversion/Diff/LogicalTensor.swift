import WeightFormats

/// A tensor as one side of a comparison sees it under the shared name: rows gathered from one
/// or more stored tensors (stacked experts, permuted rows) or values computed from the config.
struct LogicalTensor: Sendable {
    let name: String
    let shape: [Int]
    let content: PlannedTensor.Content
    /// The stored tensors it is read from, by their own names.
    let sourceNames: [String]
    /// The stored type, as the file names it ("F32", "Q8_0", "BF16"; several joined by "+").
    let dtypeName: String

    var rowLength: Int { shape.last ?? 1 }
    var rowCount: Int { shape.dropLast().reduce(1, *) }

    init(planned: PlannedTensor) {
        name = planned.name
        shape = planned.shape
        content = planned.content
        switch planned.content {
        case .pieces(let pieces):
            var names: [String] = []
            var types: [String] = []
            for piece in pieces {
                if names.last != piece.view.name { names.append(piece.view.name) }
                if !types.contains(piece.view.dtype.name) { types.append(piece.view.dtype.name) }
            }
            sourceNames = names
            dtypeName = types.joined(separator: "+")
        case .values:
            sourceNames = []
            dtypeName = "computed"
        }
    }

    init(view: TensorView) {
        self.init(planned: PlannedTensor(name: view.name, shape: view.shape, type: view.dtype, content: .pieces([TensorPiece(view: view)])))
    }

    /// Throws when a source's type cannot be decoded to float (integer tensors, unknown types).
    func checkDecodable() throws {
        guard case .pieces(let pieces) = content else { return }
        for piece in pieces {
            guard let ggml = piece.view.dtype.ggmlType, ggml.traits.kind != .integer else {
                throw ConversionError.tensorNotConvertible(tensor: piece.view.name, reason: "\(piece.view.dtype.name) values cannot be compared")
            }
            var probe: Float = 0
            try piece.view.decodeRows(0..<0, into: &probe)
        }
    }

    /// Decodes rows `rows` into `destination` (`rows.count * rowLength` floats), on the calling thread.
    func decodeRows(_ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        switch content {
        case .values(let values):
            for (i, row) in rows.enumerated() {
                for j in 0..<rowLength { destination[i * rowLength + j] = values[row * rowLength + j] }
            }
        case .pieces(let pieces):
            var pieceStart = 0
            var written = 0
            for piece in pieces {
                let pieceEnd = pieceStart + piece.rowCount
                defer { pieceStart = pieceEnd }
                let low = max(rows.lowerBound, pieceStart), high = min(rows.upperBound, pieceEnd)
                guard low < high else { continue }
                let out = destination + written * rowLength
                if let order = piece.rowOrder {
                    for (i, row) in (low..<high).enumerated() {
                        let source = order[row - pieceStart]
                        try! piece.view.decodeRows(source..<(source + 1), into: out + i * rowLength)
                    }
                } else {
                    let first = piece.rows.lowerBound + low - pieceStart
                    // checkDecodable ran before: decoding cannot fail.
                    try! piece.view.decodeRows(first..<(first + high - low), into: out)
                }
                if piece.valueOffset != 0 {
                    // Gemma's norms: the value the conversion writes, `1 + w`.
                    for i in 0..<((high - low) * rowLength) {
                        out[i] += piece.valueOffset
                        if piece.offsetPrecision == .f16 { out[i] = Float(Float16(out[i])) }
                    }
                }
                written += high - low
            }
        }
    }

    /// Lets the kernel drop the source pages once the tensor is compared.
    func releasePages() {
        guard case .pieces(let pieces) = content else { return }
        for piece in pieces { piece.view.file.advise(.dontNeed, offset: piece.view.offset, count: piece.view.byteCount) }
    }
}
