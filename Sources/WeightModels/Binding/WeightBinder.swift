import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// Binds a checkpoint's tensors to what a model asks for, strictly: every expected tensor
/// present with its shape, nothing left over. Every handle it returns is non-optional: a
/// missing or mis-shaped tensor is recorded and stands in as an empty placeholder, so that a
/// builder binds everything and `finish()` reports every problem at once (the placeholders
/// are never computed with, since `finish()` throws).
///
/// Tensors are asked for by role, through the family's schema (Hugging Face or GGUF names, as
/// the checkpoint's format has them), or by name for parts without a schema name map.
final class WeightBinder {
    let checkpoint: Checkpoint
    let model: String
    let schema: TensorSchema?
    let gguf: Bool
    private(set) var missing: [String] = []
    private(set) var misshaped: [String] = []
    private(set) var unusable: [String] = []
    private var used = Set<String>()
    /// Names a checkpoint may carry that no model part uses (buffers such as
    /// `rotary_emb.inv_freq`, or another tower's tensors).
    var ignorable: (String) -> Bool

    /// The instruction-set tier of the matrices bound (their decoding).
    let kernels: Kernels
    /// LoRA adapters matched to this checkpoint's tensors, applied unmerged to the linear layers
    /// bound by role; `finish()` refuses any update no layer took.
    let adapters: LoRAPlan?
    private var applied = Set<String>()

    init(checkpoint: Checkpoint, schema: TensorSchema? = nil, model: String, kernels: Kernels = .best, adapters: LoRAPlan? = nil) {
        self.kernels = kernels
        self.adapters = adapters
        self.checkpoint = checkpoint
        self.schema = schema
        self.model = model
        self.gguf = checkpoint.format == .gguf
        let buffers = schema?.buffers ?? { _ in false }
        self.ignorable = buffers
    }

    // MARK: By role

    /// The schema's entry for `role`; a recorded problem when the schema has none.
    func spec(_ role: TensorRole) -> TensorSpec? {
        guard let spec = schema?[role] else {
            missing.append("(\(role))")
            return nil
        }
        return spec
    }

    /// The checkpoint's name for a single tensor.
    func name(_ spec: TensorSpec) -> String? {
        gguf ? spec.gguf : spec.huggingFaceName
    }

    /// Whether the checkpoint holds the tensor of `role`.
    func has(_ role: TensorRole) -> Bool {
        guard let spec = schema?[role], let name = name(spec) else { return false }
        return checkpoint.tensor(named: name) != nil
    }

    /// The tensor of `role` with its schema shape.
    func tensor(_ role: TensorRole) -> TensorView? {
        guard let spec = spec(role), let name = name(spec) else { return nil }
        return tensor(name, shape: spec.shape(gguf: gguf))
    }

    /// A matrix `[rows, columns]` kept in its stored type (an adapter's replacement, in float32,
    /// when one replaces it).
    func matrix(_ role: TensorRole) -> WeightMatrix {
        if let spec = schema?[role], let name = name(spec), let replacement = adapters?.replacements[name] {
            if has(name) { _ = tensor(role) }
            applied.insert(name)
            let shape = replacement.shape
            return FloatStorage.matrix(replacement.values, rows: shape[0], columns: shape.dropFirst().reduce(1, *))
        }
        guard let spec = spec(role), let view = tensor(role) else { return Self.placeholder }
        return matrix(view, rows: spec.shape(gguf: gguf)[0], columns: spec.shape(gguf: gguf).dropFirst().reduce(1, *))
    }

    /// A small tensor (norm weights, biases) decoded to float (an adapter's replacement when
    /// one replaces it: mergekit's norm weights).
    func vector(_ role: TensorRole) -> [Float] {
        if let spec = schema?[role], let name = name(spec), let replacement = adapters?.replacements[name] {
            _ = tensor(role)
            applied.insert(name)
            return replacement.values
        }
        guard let view = tensor(role) else { return [] }
        return floats(view)
    }

    /// Whether an adapter replaces the tensor of `role` (`modules_to_save`).
    func isReplaced(_ role: TensorRole) -> Bool {
        guard let spec = schema?[role], let name = name(spec) else { return false }
        return adapters?.replacements[name] != nil
    }

    /// A linear layer: `part`'s weight, its bias when `bias` is set, and the adapters' updates
    /// of its weight.
    func linear(_ layer: Int?, _ part: TensorRole.Part, bias: Bool, tower: TensorRole.Tower = .text) -> Linear {
        let role = TensorRole(tower: tower, layer: layer, part)
        var linear = Linear(weight: matrix(role), bias: bias ? vector(TensorRole(tower: tower, layer: layer, part, .bias)) : nil)
        if let spec = schema?[role], let name = name(spec) { attachUpdates(of: name, to: &linear) }
        return linear
    }

    /// The adapters' updates of the embedding table of `role`, added to the rows it looks up
    /// (PEFT's `Embedding` and llama.cpp's `llm_build_inp_embd`: the lookup only, never a tied
    /// output head).
    func lookupUpdates(_ role: TensorRole) -> [ResolvedUpdate] {
        guard let spec = schema?[role], let name = name(spec), let updates = adapters?.updates[name] else { return [] }
        applied.insert(name)
        return updates
    }

    /// The adapters' updates of the weight `name`, attached to `linear` (which holds it).
    func attachUpdates(of name: String, to linear: inout Linear) {
        guard let updates = adapters?.updates[name], linear.weight.rows > 0 else { return }
        linear.lowRank = updates.indices.map { LowRankUpdate(updates[$0], weight: linear.weight, earlier: Array(updates[..<$0])) }
        applied.insert(name)
    }

    /// A norm of `kind`, with a bias for LayerNorm; Gemma's `1 + w` folded in for Hugging Face
    /// files (llama.cpp's converter has already added it in GGUF).
    func norm(_ layer: Int?, _ part: TensorRole.Part, kind: NormKind, epsilon: Double, unitOffset: Bool = false,
              tower: TensorRole.Tower = .text) -> Norm {
        var weight = vector(TensorRole(tower: tower, layer: layer, part))
        if unitOffset && !gguf { weight = weight.map { $0 + 1 } }
        let bias = kind == .layer ? vector(TensorRole(tower: tower, layer: layer, part, .bias)) : nil
        return Norm(kind: kind, weight: weight, bias: bias, epsilon: Float(epsilon))
    }

    /// The `experts` matrices of a routed projection, whatever its layout: GGUF's stacked tensor
    /// (`[E, rows, columns]`), transformers 4.x's tensor per expert, or 5.x's packed tensor
    /// (whole, or one half of each expert's rows of `gate_up_proj`).
    func expertMatrices(_ role: TensorRole) -> [WeightMatrix] {
        guard let spec = spec(role), case .experts(let layout) = spec.huggingFace, spec.shape.count == 3 else {
            return []
        }
        let count = spec.shape[0], rows = spec.shape[1], columns = spec.shape[2]
        let placeholders = [WeightMatrix](repeating: Self.placeholder, count: count)
        if gguf {
            guard let name = spec.gguf, let view = tensor(name, shape: spec.shape) else { return placeholders }
            return (0..<count).map { matrix(view, rows: rows, columns: columns, offset: $0 * view.byteCount / count) }
        }
        if let packed = layout.packed, checkpoint.tensor(named: packed.name) != nil {
            switch packed.part {
            case .whole:
                guard let view = tensor(packed.name, shape: spec.shape) else { return placeholders }
                return (0..<count).map { matrix(view, rows: rows, columns: columns, offset: $0 * view.byteCount / count) }
            case .firstHalf, .secondHalf:
                guard let view = tensor(packed.name, shape: [count, 2 * rows, columns]) else { return placeholders }
                let half = view.byteCount / count / 2
                let second = packed.part == .secondHalf ? half : 0
                return (0..<count).map { matrix(view, rows: rows, columns: columns, offset: 2 * $0 * half + second) }
            }
        }
        return layout.perExpert.map { name in
            guard let view = tensor(name, shape: [rows, columns]) else { return Self.placeholder }
            return matrix(view, rows: rows, columns: columns)
        }
    }

    // MARK: By name

    /// The tensor `name` if it exists with `shape` (row-major); records a problem otherwise.
    func tensor(_ name: String, shape: [Int]) -> TensorView? {
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

    /// Whether the checkpoint holds `name`.
    func has(_ name: String) -> Bool { checkpoint.tensor(named: name) != nil }

    /// A matrix `[rows, columns]` by name.
    func matrix(_ name: String, rows: Int, columns: Int) -> WeightMatrix {
        guard let view = tensor(name, shape: [rows, columns]) else { return Self.placeholder }
        return matrix(view, rows: rows, columns: columns)
    }

    /// A vector by name, decoded to float.
    func vector(_ name: String, count: Int) -> [Float] {
        guard let view = tensor(name, shape: [count]) else { return [] }
        return floats(view)
    }

    /// The rows `[rows, columns]` of `view` from byte `offset`, in the stored type.
    func matrix(_ view: TensorView, rows: Int, columns: Int, offset: Int = 0) -> WeightMatrix {
        guard let type = view.dtype.ggmlType, kernels.decoder(for: type) != nil || [.f32, .f16, .bf16].contains(type),
              view.byteOrder == .littleEndian else {
            unusable.append("\(view.name) (\(view.dtype.name))")
            return Self.placeholder
        }
        guard columns % type.blockSize == 0 else {
            unusable.append("\(view.name) (rows of \(columns) are not whole \(type.name) blocks)")
            return Self.placeholder
        }
        return WeightMatrix(rows: rows, columns: columns, type: type, base: view.bytes.baseAddress! + offset, owner: view.file,
                            kernels: kernels)
    }

    /// A tensor's values as float, or a recorded problem.
    func floats(_ view: TensorView) -> [Float] {
        do {
            return try view.floats()
        } catch {
            unusable.append("\(view.name) (\(error))")
            return []
        }
    }

    /// Throws if anything was missing, mis-shaped, not computable or left unused, or if an
    /// adapter changes a tensor this model does not bind as a linear layer.
    func finish() throws {
        let unexpected = checkpoint.tensors.map(\.name).filter { !used.contains($0) && !ignorable($0) }
        guard missing.isEmpty, misshaped.isEmpty, unexpected.isEmpty, unusable.isEmpty else {
            throw ModelError.binding(model: model, missing: missing, unexpected: unexpected, misshaped: misshaped + unusable)
        }
        if let adapters, let skipped = adapters.targetNames.first(where: { !applied.contains($0) }) {
            let path = adapters.updates[skipped]?.first?.adapterPath ?? "the adapter"
            throw AdapterError.notApplicable(adapter: path, reason: "'\(skipped)' is not a linear layer \(model) applies adapters to unmerged")
        }
    }

    /// Stands in for a tensor that could not be bound (never computed with).
    static let placeholder = WeightMatrix.empty

    private func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
