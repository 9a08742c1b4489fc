import WeightCompute
import WeightFormats

/// Binds a checkpoint's tensors to the names and shapes an architecture expects, strictly:
/// every expected tensor present with its shape, nothing left over. Problems are collected and
/// reported together when `finish()` is called.
final class WeightBinder {
    let checkpoint: Checkpoint
    let model: String
    private(set) var missing: [String] = []
    private(set) var misshaped: [String] = []
    private var used = Set<String>()
    /// Names a checkpoint may carry that a forward pass does not use (buffers such as
    /// `rotary_emb.inv_freq` in old checkpoints).
    var ignorable: (String) -> Bool = { _ in false }

    /// The checkpoint's name for a tensor the model asks for by its own name.
    let fileName: (String) -> String

    init(checkpoint: Checkpoint, model: String, name fileName: @escaping (String) -> String = { $0 }) {
        self.checkpoint = checkpoint
        self.model = model
        self.fileName = fileName
    }

    /// The tensor `name` if it exists with `shape` (row-major); records a problem otherwise.
    /// Problems name the tensor as the checkpoint does.
    func tensor(_ modelName: String, shape: [Int]) -> TensorView? {
        let name = fileName(modelName)
        guard let view = checkpoint.tensor(named: name) else {
            missing.append(name)
            return nil
        }
        used.insert(name)
        guard view.shape == shape else {
            misshaped.append("\(name) \(shapeText(view.shape)), expected \(shapeText(shape))")
            return nil
        }
        return view
    }

    /// Whether the checkpoint holds `name` (for optional tensors such as a tied output head).
    func has(_ name: String) -> Bool { checkpoint.tensor(named: fileName(name)) != nil }

    /// A matrix `[rows, columns]` kept in its stored type.
    func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix? {
        guard let view = tensor(name, shape: [rows, columns]) else { return nil }
        return try Self.matrix(view, rows: rows, columns: columns)
    }

    static func matrix(_ view: TensorView, rows: Int, columns: Int, offset: Int = 0) throws -> WeightMatrix {
        guard let type = view.dtype.ggmlType, type.decodeKernel != nil, view.byteOrder == .littleEndian else {
            throw ModelError.unsupportedTensorType(tensor: view.name, dtype: view.dtype.name)
        }
        try view.checkMaterializable()
        return WeightMatrix(rows: rows, columns: columns, type: type, base: view.bytes.baseAddress! + offset, owner: view.file)
    }

    /// A small tensor (norm weights, biases) decoded to Float.
    func vector(_ name: String, count: Int) throws -> [Float]? {
        guard let view = tensor(name, shape: [count]) else { return nil }
        return try view.floats()
    }

    /// Throws if anything was missing, misshaped or left unused.
    func finish() throws {
        let unexpected = checkpoint.tensors.map(\.name).filter { !used.contains($0) && !ignorable($0) }
        guard missing.isEmpty, misshaped.isEmpty, unexpected.isEmpty else {
            throw ModelError.binding(model: model, missing: missing, unexpected: unexpected, misshaped: misshaped)
        }
    }

    private func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
