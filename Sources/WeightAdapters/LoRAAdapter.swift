import WeightFormats

/// A LoRA adapter read from any of the formats WeightKit knows, normalised to one form: per
/// target module, `A` `[r, in]` and `B` `[out, r]` as float32, row-major, and the scale `s` of
/// `W' = W + s · B A` (PEFT's `lora_alpha / r`, or `/ √r` with rsLoRA, per-module patterns
/// applied; llama.cpp's `alpha / rank`; MLX's `scale`).
///
///     let adapter = try LoRAAdapter.open("./my-lora/")         // PEFT, MLX or an adapter GGUF
///     for module in adapter.modules { print(module.name, module.rank, module.scale) }
public struct LoRAAdapter: Sendable {
    public enum Format: String, Sendable {
        /// A PEFT directory: adapter_config.json + adapter_model.safetensors (or .bin).
        case peft
        /// llama.cpp's adapter GGUF (`general.type = adapter`, `adapter.type = lora`).
        case gguf
        /// An MLX adapter: adapter_config.json + adapters.safetensors.
        case mlx
    }

    /// Whose names the modules carry: Hugging Face module names (`model.layers.0.self_attn.q_proj`)
    /// or GGUF tensor names without `.weight` (`blk.0.attn_q`).
    public enum Namespace: String, Sendable {
        case huggingFace, gguf
    }

    public let path: String
    public let format: Format
    public let namespace: Namespace
    /// The modules it changes, in file order.
    public let modules: [LoRAModule]
    /// Whole tensors it replaces (PEFT's `modules_to_save`: `lm_head.weight`...), by tensor name.
    public let replacements: [ReplacementTensor]
    /// `general.architecture` of an adapter GGUF, `base_model_name_or_path` of a PEFT one.
    public let baseModel: String?
    /// The configured `alpha` (PEFT's `lora_alpha`, llama.cpp's `adapter.lora.alpha`).
    public let alpha: Double?

    public init(path: String, format: Format, namespace: Namespace, modules: [LoRAModule], replacements: [ReplacementTensor] = [],
                baseModel: String? = nil, alpha: Double? = nil) {
        self.path = path
        self.format = format
        self.namespace = namespace
        self.modules = modules
        self.replacements = replacements
        self.baseModel = baseModel
        self.alpha = alpha
    }

    /// The module named `name` (adapter namespace, no `.weight`).
    public func module(named name: String) -> LoRAModule? { modules.first { $0.name == name } }

    /// Whether any module uses DoRA's magnitude.
    public var usesDoRA: Bool { modules.contains { $0.magnitude != nil } }

    /// The largest rank of its modules.
    public var rank: Int { modules.map(\.rank).max() ?? 0 }

    /// Trainable parameters: A, B and magnitudes of every module, plus replaced tensors.
    public var parameterCount: Int {
        modules.reduce(0) { $0 + $1.a.count + $1.b.count + ($1.magnitude?.count ?? 0) }
            + replacements.reduce(0) { $0 + $1.values.count }
    }

    /// Reads the adapter at `path`: a directory with adapter_config.json (PEFT, or MLX with
    /// `adapters.safetensors`), or an adapter GGUF.
    public static func open(_ path: String) throws -> LoRAAdapter {
        if FileSystem.isDirectory(path) {
            if FileSystem.isRegularFile(PathName.join(path, "adapters.safetensors")) { return try MLXAdapterReader.read(directory: path) }
            return try PEFTAdapterReader.read(directory: path)
        }
        if PathName.fileExtension(of: path) == "gguf" { return try GGUFAdapterReader.read(path: path) }
        throw AdapterError.notAnAdapter(path: path, reason: "expected a PEFT or MLX adapter directory or an adapter .gguf")
    }
}

/// One adapted module: `W' = W + scale · B A` (DoRA: `m ⊙ W' / ‖W'‖` per output row).
public struct LoRAModule: Sendable {
    /// Module name in the adapter's namespace, without `.weight`.
    public let name: String
    /// The adapter's tensor names, for messages.
    public let tensorNames: (a: String, b: String)
    /// `[rank, inputs]`, row-major.
    public let a: [Float]
    /// `[outputs, rank]`, row-major.
    public let b: [Float]
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// The multiplier of `B A` (before a user's `--lora-scaled` factor).
    public let scale: Float
    /// DoRA's `lora_magnitude_vector`, one value per output row.
    public let magnitude: [Float]?
    /// Whether it adapts an embedding table (`[vocab, hidden]`, rows looked up, not multiplied):
    /// PEFT's `lora_embedding_A/B`, an adapter GGUF's `token_embd`.
    public let isEmbedding: Bool

    public init(name: String, tensorNames: (a: String, b: String), a: [Float], b: [Float], rank: Int, inputs: Int, outputs: Int,
                scale: Float, magnitude: [Float]? = nil, isEmbedding: Bool = false) {
        self.name = name
        self.tensorNames = tensorNames
        self.a = a
        self.b = b
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.scale = scale
        self.magnitude = magnitude
        self.isEmbedding = isEmbedding
    }

    /// B's rows reordered: output row `i` becomes row `order[i]` of the original (the llama
    /// Q/K permutation between Hugging Face and GGUF layouts).
    public func reorderingOutputs(_ order: [Int]) -> LoRAModule {
        var reordered = [Float](repeating: 0, count: b.count)
        for (row, source) in order.enumerated() {
            for j in 0..<rank { reordered[row * rank + j] = b[source * rank + j] }
        }
        let magnitude = magnitude.map { m in order.map { m[$0] } }
        return LoRAModule(name: name, tensorNames: tensorNames, a: a, b: reordered, rank: rank, inputs: inputs, outputs: outputs,
                          scale: scale, magnitude: magnitude, isEmbedding: isEmbedding)
    }

    /// The same module under another name and scale.
    public func renamed(_ name: String, scale: Float? = nil) -> LoRAModule {
        LoRAModule(name: name, tensorNames: tensorNames, a: a, b: b, rank: rank, inputs: inputs, outputs: outputs,
                   scale: scale ?? self.scale, magnitude: magnitude, isEmbedding: isEmbedding)
    }

    /// Row `row` of `scale · B A` (`inputs` values) added into `destination`, with `scale` given
    /// (the module's own times a user's factor).
    public func addDeltaRow(_ row: Int, scale s: Float, into destination: UnsafeMutablePointer<Float>) {
        a.withUnsafeBufferPointer { a in
            for k in 0..<rank {
                let coefficient = s * b[row * rank + k]
                if coefficient == 0 { continue }
                let line = a.baseAddress! + k * inputs
                for j in 0..<inputs { destination[j] += coefficient * line[j] }
            }
        }
    }
}

/// A whole tensor an adapter replaces (PEFT's `modules_to_save`, mergekit's norm weights).
public struct ReplacementTensor: Sendable {
    /// A norm weight as convert_lora_to_gguf.py passes them through: `_layernorm` or `.norm` in
    /// a Hugging Face name, `_norm` in a GGUF one.
    public static func isNormWeight(_ name: String) -> Bool {
        name.hasSuffix(".weight") && (name.contains("_layernorm") || name.contains(".norm") || name.hasSuffix("_norm.weight"))
    }

    /// Whether it is a vector (a norm weight), which llama.cpp's adapter format passes through.
    public var isVector: Bool { shape.count == 1 }

    /// The base's tensor name in the adapter's namespace (`lm_head.weight`).
    public let name: String
    public let shape: [Int]
    public let values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Decoding of adapter tensors, shared by the readers.
public enum AdapterTensors {
    /// A 2-D tensor's values, row-major, after checking it has no zero dimension.
    static func matrix(_ view: TensorView) throws -> (values: [Float], rows: Int, columns: Int) {
        guard view.shape.count == 2 else { throw AdapterError.invalidShape(tensor: view.name, shape: view.shape, reason: "expected 2 dimensions") }
        guard view.shape[0] > 0, view.shape[1] > 0 else {
            throw AdapterError.invalidShape(tensor: view.name, shape: view.shape, reason: "a LoRA rank and widths must be at least 1")
        }
        return (try view.floats(), view.shape[0], view.shape[1])
    }

    /// The `lora_a` / `lora_b` pairs of `views` by module (the name before `aSuffix` or
    /// `bSuffix`), in the order the file first names each module; a tensor with neither suffix
    /// goes to `other`, which throws for what the format does not define. A module with one
    /// tensor of its pair is an error naming the tensor present and the one missing.
    static func pairs(_ views: [TensorView], path: String, aSuffix: String, bSuffix: String,
                      other: (TensorView) throws -> Void) throws -> [(module: String, a: TensorView, b: TensorView)] {
        var a: [String: TensorView] = [:], b: [String: TensorView] = [:]
        var order: [String] = []
        for view in views {
            if let module = view.name.strippingSuffix(aSuffix) {
                a[module] = view
                if !order.contains(module) { order.append(module) }
            } else if let module = view.name.strippingSuffix(bSuffix) {
                b[module] = view
                if !order.contains(module) { order.append(module) }
            } else {
                try other(view)
            }
        }
        return try order.map { module in
            guard let aView = a[module] else { throw AdapterError.unpairedTensor(path: path, tensor: module + bSuffix, missing: module + aSuffix) }
            guard let bView = b[module] else { throw AdapterError.unpairedTensor(path: path, tensor: aView.name, missing: module + bSuffix) }
            return (module, aView, bView)
        }
    }

    /// `values` `[rows, columns]` transposed to `[columns, rows]`.
    public static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        for i in 0..<rows { for j in 0..<columns { result[j * rows + i] = values[i * columns + j] } }
        return result
    }
}
