import WeightFormats

// What the decoder families (Llama, Qwen, Mistral, Mixtral, Gemma, Phi-3) share: the
// configuration keys transformers' decoder configs have in common, the tensor layout of
// `model.layers.N` / `blk.N`, llama.cpp's keys for them. Each family's file supplies its
// defaults, its names and what it adds.

/// transformers' defaults of one decoder configuration class (its `__init__` arguments).
public struct DecoderDefaults: Sendable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    /// nil: as many as query heads.
    public var kvHeads: Int?
    /// nil: hidden_size / num_attention_heads.
    public var headDimension: Int?
    public var context: Int
    public var epsilon: Double
    public var ropeTheta: Double = 10000
    public var activation: Activation = .silu
    public var tied = false
    /// The key the epsilon is read from.
    public var epsilonKey = "rms_norm_eps"

    public init(vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, kvHeads: Int? = nil,
                headDimension: Int? = nil, context: Int, epsilon: Double) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDimension = headDimension
        self.context = context
        self.epsilon = epsilon
    }
}

/// Reading the configuration keys decoder families share.
public enum DecoderConfig {
    /// The common keys, with `defaults` for the absent ones. Sliding windows, experts and what
    /// else a family adds are the family's to read.
    public static func textStack(_ config: ConfigReader, defaults d: DecoderDefaults) throws -> TextStack {
        let hidden = try config.count("hidden_size", d.hiddenSize)
        let heads = try config.count("num_attention_heads", d.heads)
        let kvHeads = try config.count("num_key_value_heads", d.kvHeads ?? heads)
        let headDimension = try config.count("head_dim", d.headDimension ?? max(1, hidden / heads))
        return TextStack(
            vocabularySize: try config.count("vocab_size", d.vocabularySize),
            hiddenSize: hidden, layerCount: try config.count("num_hidden_layers", d.layers, limit: ArchitectureLimits.maxLayers),
            headCount: heads, kvHeadCount: kvHeads, keyLength: headDimension, valueLength: headDimension,
            feedForwardLength: try config.int("intermediate_size", d.intermediateSize),
            activation: try config.activation("hidden_act", d.activation),
            contextLength: try config.int("max_position_embeddings", d.context),
            normEpsilon: try config.double(d.epsilonKey, d.epsilon),
            positions: .rotary(try rotary(config, headDimension: headDimension, theta: d.ropeTheta)),
            tiedEmbeddings: try config.bool("tie_word_embeddings", d.tied))
    }

    /// Rotary parameters from `rope_parameters` (5.x) or `rope_theta` + `rope_scaling` (4.x).
    public static func rotary(_ config: ConfigReader, headDimension: Int, theta defaultTheta: Double = 10000) throws -> RotaryEmbedding {
        let parameters = try config.child("rope_parameters")
        let theta = try parameters?.optionalDouble("rope_theta") ?? config.double("rope_theta", defaultTheta)
        let partial = try parameters?.has("partial_rotary_factor") == true
            ? parameters!.unitFraction("partial_rotary_factor", 1) : config.unitFraction("partial_rotary_factor", 1)
        var scaling: RopeScaling?
        if let source = try parameters ?? config.child("rope_scaling") {
            let type = try source.optionalString("rope_type") ?? source.optionalString("type") ?? "default"
            if type != "default" {
                var extra: [String: Double] = [:]
                var lists: [String: [Double]] = [:]
                let named = ["rope_type", "type", "factor", "rope_theta", "original_max_position_embeddings", "partial_rotary_factor"]
                for (key, value) in source.object where !named.contains(key) {
                    if let number = value.doubleValue { extra[key] = number }
                    if value.arrayValue != nil, let list = try source.doubleArray(key) { lists[key] = list }
                }
                scaling = RopeScaling(
                    type: type, factor: try source.double("factor", 1),
                    originalContextLength: try source.optionalInt("original_max_position_embeddings"), parameters: extra,
                    factorLists: lists)
            }
        }
        // transformers: int(head_dim * partial_rotary_factor).
        return RotaryEmbedding(theta: theta, dimensions: Int(Double(headDimension) * partial), layout: .halves, scaling: scaling)
    }

    /// Qwen's sliding windows: `layer_types` when given, else `use_sliding_window` with the
    /// layers from `max_window_layers` on sliding.
    public static func qwenWindows(_ config: ConfigReader, stack: inout TextStack) throws {
        if try config.bool("use_sliding_window", false) { stack.slidingWindow = try config.optionalInt("sliding_window") }
        if try layerTypes(config, stack: &stack) { return }
        if stack.slidingWindow != nil {
            let windowLayers = try config.int("max_window_layers", 28)
            stack.layerTypes = (0..<stack.layerCount).map { $0 >= windowLayers ? .sliding : .full }
        }
    }

    /// A sliding window of `window` positions on every layer (Mistral, Phi-3); nil: full attention.
    public static func windowOnEveryLayer(_ window: Int?, stack: inout TextStack) {
        stack.slidingWindow = window
        stack.layerTypes = window.map { _ in Array(repeating: .sliding, count: stack.layerCount) }
    }

    /// Reads `layer_types`; true when the key was there. Layer types with no sliding layer
    /// leave the description without a pattern.
    @discardableResult
    public static func layerTypes(_ config: ConfigReader, stack: inout TextStack) throws -> Bool {
        guard let types = try config.stringArray("layer_types") else { return false }
        guard types.count == stack.layerCount else {
            throw ArchitectureError.invalidValue(file: config.file, key: "layer_types", reason: "has \(types.count) entries for \(stack.layerCount) layers")
        }
        let spans = try types.map { name -> AttentionSpan in
            guard let span = AttentionSpan(rawValue: name) else {
                throw ArchitectureError.invalidValue(file: config.file, key: "layer_types", reason: "contains '\(name)'")
            }
            return span
        }
        if spans.contains(.sliding) {
            stack.layerTypes = spans
            if stack.slidingWindow == nil { stack.slidingWindow = try config.optionalInt("sliding_window") }
        }
        return true
    }

    /// Routed experts as Qwen3-MoE's config has them (`num_experts`, `moe_intermediate_size`,
    /// `decoder_sparse_step`, `mlp_only_layers`).
    public static func qwenExperts(_ config: ConfigReader, layers: Int, expertCount: Int, used: Int, width: Int) throws -> MixtureOfExperts {
        let count = try config.optionalInt("num_local_experts") ?? config.int("num_experts", expertCount)
        let step = try config.int("decoder_sparse_step", 1)
        let dense = Set(try config.intArray("mlp_only_layers") ?? [])
        let denseLayers = (0..<layers).filter { dense.contains($0) || count == 0 || (step > 0 && ($0 + 1) % step != 0) }
        return MixtureOfExperts(
            expertCount: count, usedExpertCount: try config.int("num_experts_per_tok", used),
            feedForwardLength: try config.int("moe_intermediate_size", width),
            normalizeTopK: try config.bool("norm_topk_prob", false), denseLayers: denseLayers)
    }

    /// The storage type a configuration names (`dtype` in 5.x, `torch_dtype` in 4.x).
    public static func storageType(_ config: ConfigReader) throws -> String? {
        try config.optionalString("dtype") ?? config.optionalString("torch_dtype")
    }
}

/// Hugging Face and llama.cpp names of the tensors of a decoder: block parts after
/// `model.layers.N.` and `blk.N.`, tensors outside the blocks, and routed experts.
public struct DecoderNaming: Sendable {
    /// Block parts: Hugging Face name and GGUF name, each without `.weight`/`.bias`.
    public var parts: [TensorRole.Part: (huggingFace: String, gguf: String)]
    public var blockPrefix = (huggingFace: "model.layers.", gguf: "blk.")
    public var tokenEmbedding = (huggingFace: "model.embed_tokens", gguf: "token_embd")
    public var finalNorm = (huggingFace: "model.norm", gguf: "output_norm")
    public var outputHead = (huggingFace: "lm_head", gguf: "output")
    /// transformers 4.x per-expert names: the prefix before the expert index and the three
    /// projections' names after it.
    public var expertPrefix = "mlp.experts."
    public var expertProjections = (gate: "gate_proj", up: "up_proj", down: "down_proj")
    /// Whether transformers 5.x packs the experts (`gate_up_proj`, `down_proj` under the prefix).
    public var packedExperts = true

    /// The names Llama, Qwen and Mistral use.
    public static let standard = DecoderNaming(parts: [
        .attentionNorm: ("input_layernorm", "attn_norm"),
        .query: ("self_attn.q_proj", "attn_q"), .key: ("self_attn.k_proj", "attn_k"), .value: ("self_attn.v_proj", "attn_v"),
        .qkv: ("self_attn.qkv_proj", "attn_qkv"),
        .attentionOutput: ("self_attn.o_proj", "attn_output"),
        .queryNorm: ("self_attn.q_norm", "attn_q_norm"), .keyNorm: ("self_attn.k_norm", "attn_k_norm"),
        .feedForwardNorm: ("post_attention_layernorm", "ffn_norm"),
        .gate: ("mlp.gate_proj", "ffn_gate"), .up: ("mlp.up_proj", "ffn_up"), .down: ("mlp.down_proj", "ffn_down"),
        .gateUp: ("mlp.gate_up_proj", "ffn_up"),
        .router: ("mlp.gate", "ffn_gate_inp"),
        .expertGate: ("", "ffn_gate_exps"), .expertUp: ("", "ffn_up_exps"), .expertDown: ("", "ffn_down_exps"),
    ])

    public init(parts: [TensorRole.Part: (huggingFace: String, gguf: String)]) {
        self.parts = parts
    }

    /// This naming with some parts named otherwise.
    public func renaming(_ changes: [TensorRole.Part: (huggingFace: String, gguf: String)]) -> DecoderNaming {
        var copy = self
        for (part, names) in changes { copy.parts[part] = names }
        return copy
    }
}

/// The tensor schema of a decoder stack.
public enum DecoderSchema {
    /// - Parameters:
    ///   - permutesQueryKey: whether llama.cpp's converter reorders q/k rows (`llama` only).
    ///   - ggufVocabulary: the rows token_embd keeps in GGUF when the converter cuts it.
    public static func build(_ t: TextStack, naming n: DecoderNaming, permutesQueryKey: Bool = false,
                             ggufVocabulary: Int? = nil) -> TensorSchema {
        var schema = TensorSchema()
        schema.buffers = { $0.hasSuffix("rotary_emb.inv_freq") }
        let hidden = t.hiddenSize
        func global(_ part: TensorRole.Part, _ names: (huggingFace: String, gguf: String), _ shape: [Int],
                    _ component: ParameterComponent, parameter: TensorRole.Parameter = .weight,
                    transform: TensorTransform = .none, presence: Presence = .required, ggufShape: [Int]? = nil) {
            let suffix = "." + parameter.rawValue
            schema.add(TensorSpec(
                role: TensorRole(part, parameter), huggingFace: .tensor(names.huggingFace + suffix), gguf: names.gguf + suffix,
                shape: shape, ggufShape: ggufShape, component: component, toGGUF: transform, presence: presence))
        }
        let normTransform: TensorTransform = t.unitOffsetNorms ? .unitOffset : .none
        var embeddingShape: [Int]?
        var embeddingTransform = TensorTransform.none
        if let rows = ggufVocabulary, rows < t.vocabularySize {
            embeddingShape = [rows, hidden]
            embeddingTransform = .firstRows(rows)
        }
        global(.tokenEmbedding, n.tokenEmbedding, [t.vocabularySize, hidden], .embedding, transform: embeddingTransform,
               ggufShape: embeddingShape)
        for layer in 0..<t.layerCount {
            addBlock(layer, t, naming: n, prefixes: (n.blockPrefix.huggingFace + "\(layer).", n.blockPrefix.gguf + "\(layer)."),
                     permutesQueryKey: permutesQueryKey, into: &schema)
        }
        global(.finalNorm, n.finalNorm, [hidden], .norms, transform: normTransform)
        if t.norm == .layer { global(.finalNorm, n.finalNorm, [hidden], .norms, parameter: .bias) }
        if t.hasOutputHead {
            // A tied model may still carry an lm_head; it is then bound to it.
            global(.outputHead, n.outputHead, [t.vocabularySize, hidden], .outputHead, presence: t.tiedEmbeddings ? .tiedAlias : .required)
            if t.outputBias { global(.outputHead, n.outputHead, [t.vocabularySize], .outputHead, parameter: .bias) }
        }
        if let rotary = t.rotary {
            // llama.cpp's converter writes frequency-dependent scaling as per-frequency factors.
            schema.add(TensorSpec(role: TensorRole(.ropeFrequencies), huggingFace: .none, gguf: "rope_freqs.weight",
                                  shape: [rotary.dimensions / 2], component: .other, presence: .generated))
        }
        return schema
    }

    /// The tensors of block `layer`, named under `prefixes` (Hugging Face, GGUF).
    public static func addBlock(_ layer: Int, _ t: TextStack, naming n: DecoderNaming, prefixes: (String, String),
                                permutesQueryKey: Bool = false, component override: ParameterComponent? = nil,
                                tower: TensorRole.Tower = .text, into schema: inout TensorSchema) {
        let hidden = t.hiddenSize, kvHeads = t.kvHeads(layer: layer)
        let queryWidth = t.headCount * t.keyLength, keyWidth = kvHeads * t.keyLength, valueWidth = kvHeads * t.valueLength
        let (hfPrefix, ggufPrefix) = prefixes
        func add(_ part: TensorRole.Part, _ shape: [Int], _ component: ParameterComponent, _ parameter: TensorRole.Parameter = .weight,
                 transform: TensorTransform = .none) {
            guard let names = n.parts[part] else { preconditionFailure("no names for \(part)") }
            let suffix = "." + parameter.rawValue
            schema.add(TensorSpec(
                role: .layer(layer, part, parameter, tower: tower), huggingFace: .tensor(hfPrefix + names.huggingFace + suffix),
                gguf: names.gguf.isEmpty ? nil : ggufPrefix + names.gguf + suffix, shape: shape, component: override ?? component,
                toGGUF: transform))
        }
        let normTransform: TensorTransform = t.unitOffsetNorms ? .unitOffset : .none
        func norm(_ part: TensorRole.Part) {
            add(part, [hidden], .norms, transform: normTransform)
            if t.norm == .layer { add(part, [hidden], .norms, .bias) }
        }
        // Attention.
        norm(.attentionNorm)
        if t.fusedQKV {
            add(.qkv, [queryWidth + keyWidth + valueWidth, hidden], .attention)
            if t.attentionBias { add(.qkv, [queryWidth + keyWidth + valueWidth], .attention, .bias) }
        } else {
            add(.query, [queryWidth, hidden], .attention, transform: permutesQueryKey ? .rotaryRowPermutation(heads: t.headCount) : .none)
            add(.key, [keyWidth, hidden], .attention, transform: permutesQueryKey ? .rotaryRowPermutation(heads: kvHeads) : .none)
            add(.value, [valueWidth, hidden], .attention)
            if t.attentionBias {
                add(.query, [queryWidth], .attention, .bias)
                add(.key, [keyWidth], .attention, .bias)
                add(.value, [valueWidth], .attention, .bias)
            }
        }
        add(.attentionOutput, [hidden, t.headCount * t.valueLength], .attention)
        if t.attentionOutputBias { add(.attentionOutput, [hidden], .attention, .bias) }
        if t.qkNorm {
            add(.queryNorm, [t.keyLength], .norms, transform: normTransform)
            add(.keyNorm, [t.keyLength], .norms, transform: normTransform)
        }
        if t.sublayerOutputNorms { norm(.postAttentionNorm) }
        // Feed-forward.
        norm(.feedForwardNorm)
        if t.sublayerOutputNorms { norm(.postFeedForwardNorm) }
        if let experts = t.experts, t.isSparse(layer: layer) {
            addExperts(layer, experts, t, naming: n, hfPrefix: hfPrefix, ggufPrefix: ggufPrefix, into: &schema)
            return
        }
        let width = t.feedForwardLength
        if t.fusedGateUp {
            add(.gateUp, [2 * width, hidden], .mlp)
        } else {
            if t.gatedFeedForward { add(.gate, [width, hidden], .mlp) }
            add(.up, [width, hidden], .mlp)
        }
        add(.down, [hidden, width], .mlp)
        if t.feedForwardBias {
            if t.gatedFeedForward && !t.fusedGateUp { add(.gate, [width], .mlp, .bias) }
            add(t.fusedGateUp ? .gateUp : .up, [t.fusedGateUp ? 2 * width : width], .mlp, .bias)
            add(.down, [hidden], .mlp, .bias)
        }
    }

    static func addExperts(_ layer: Int, _ e: MixtureOfExperts, _ t: TextStack, naming n: DecoderNaming, hfPrefix: String,
                           ggufPrefix: String, into schema: inout TensorSchema) {
        let hidden = t.hiddenSize, width = e.feedForwardLength, count = e.expertCount
        guard let router = n.parts[.router] else { preconditionFailure("no router names") }
        schema.add(TensorSpec(role: .layer(layer, .router), huggingFace: .tensor(hfPrefix + router.huggingFace + ".weight"),
                              gguf: ggufPrefix + router.gguf + ".weight", shape: [count, hidden], component: .router))
        let projections: [(TensorRole.Part, String, [Int], PackedExperts?)] = [
            (.expertGate, n.expertProjections.gate, [count, width, hidden],
             n.packedExperts ? PackedExperts(name: hfPrefix + n.expertPrefix + "gate_up_proj", part: .firstHalf) : nil),
            (.expertUp, n.expertProjections.up, [count, width, hidden],
             n.packedExperts ? PackedExperts(name: hfPrefix + n.expertPrefix + "gate_up_proj", part: .secondHalf) : nil),
            (.expertDown, n.expertProjections.down, [count, hidden, width],
             n.packedExperts ? PackedExperts(name: hfPrefix + n.expertPrefix + "down_proj", part: .whole) : nil),
        ]
        for (part, projection, shape, packed) in projections {
            guard let names = n.parts[part] else { preconditionFailure("no names for \(part)") }
            let perExpert = (0..<count).map { hfPrefix + n.expertPrefix + "\($0)." + projection + ".weight" }
            var spec = TensorSpec(role: .layer(layer, part), huggingFace: .experts(ExpertLayout(perExpert: perExpert, packed: packed)),
                                  gguf: ggufPrefix + names.gguf + ".weight", shape: shape, component: .experts)
            spec.routing = (e.usedExpertCount, count)
            schema.add(spec)
        }
    }
}

/// Reading llama.cpp's keys decoder families share.
public enum DecoderGGUF {
    /// The common `{arch}.*` keys; family facts the tensor list tells (biases, tied embeddings,
    /// q/k norms) from `tensors`.
    public static func textStack(_ keys: GGUFKeys, tensors: GGUFTensorIndex, layout: RotaryEmbedding.Layout = .halves) throws -> TextStack {
        let hidden = try keys.count("embedding_length")
        let layers = try keys.count("block_count")
        // A file without tensors (a description for budgets) is bound by the documented limits only.
        guard layers <= ArchitectureLimits.maxLayers, tensors.count == 0 || layers <= tensors.count else {
            throw ArchitectureError.ruleViolated(
                file: keys.file, key: keys.key("block_count"), value: "\(layers)",
                rule: layers > ArchitectureLimits.maxLayers ? .atMost(ArchitectureLimits.maxLayers) : .moreThanTensors(tensors.count))
        }
        let headsPerLayer = try keys.perLayer("attention.head_count", layers: layers)
        let heads = headsPerLayer.max() ?? 0
        guard heads > 0 else {
            throw ArchitectureError.ruleViolated(file: keys.file, key: keys.key("attention.head_count"), value: "\(heads)", rule: .positive)
        }
        let kvPerLayer = try keys.perLayerOptional("attention.head_count_kv", layers: layers) ?? headsPerLayer
        let keyLength = try keys.optionalInt("attention.key_length") ?? hidden / heads
        let valueLength = try keys.optionalInt("attention.value_length") ?? keyLength
        let feedForward = try keys.perLayerOptional("feed_forward_length", layers: layers)?.max() ?? 0
        let vocabulary = try keys.optionalInt("vocab_size")
            ?? keys.global("tokenizer.ggml.tokens")?.arrayValue?.count
            ?? tensors.shapes["token_embd.weight"]?.first
            ?? 0
        let epsilon = try keys.optionalDouble("attention.layer_norm_rms_epsilon") ?? keys.optionalDouble("attention.layer_norm_epsilon") ?? 1e-5
        var rotary = RotaryEmbedding(
            theta: try keys.optionalDouble("rope.freq_base") ?? 10000,
            dimensions: try keys.optionalInt("rope.dimension_count") ?? keyLength, layout: layout)
        if let type = try keys.optionalString("rope.scaling.type"), type != "none" {
            rotary.scaling = RopeScaling(
                type: type, factor: try keys.optionalDouble("rope.scaling.factor") ?? 1,
                originalContextLength: try keys.optionalInt("rope.scaling.original_context_length"))
        }
        let uniformKV = Set(kvPerLayer).count <= 1
        var stack = TextStack(
            vocabularySize: vocabulary, hiddenSize: hidden, layerCount: layers, headCount: heads,
            kvHeadCount: kvPerLayer.first ?? heads, keyLength: keyLength, valueLength: valueLength,
            feedForwardLength: feedForward, contextLength: try keys.optionalInt("context_length") ?? 0,
            normEpsilon: epsilon, positions: .rotary(rotary),
            attentionBias: tensors.contains("blk.0.attn_q.bias") || tensors.contains("blk.0.attn_qkv.bias"),
            attentionOutputBias: tensors.contains("blk.0.attn_output.bias"),
            feedForwardBias: tensors.contains("blk.0.ffn_up.bias"), qkNorm: tensors.contains("blk.0.attn_q_norm.weight"),
            tiedEmbeddings: !tensors.contains("output.weight"),
            kvHeadCountPerLayer: uniformKV ? nil : kvPerLayer)
        if let window = try keys.optionalInt("attention.sliding_window") { stack.slidingWindow = window }
        return stack
    }

    /// Routed experts from `expert_count`, `expert_used_count`, and the layers that have a router.
    public static func experts(_ keys: GGUFKeys, tensors: GGUFTensorIndex, stack: TextStack, normalizeByDefault: Bool) throws -> MixtureOfExperts? {
        guard let count = try keys.optionalInt("expert_count"), count > 0 else { return nil }
        return MixtureOfExperts(
            expertCount: count, usedExpertCount: try keys.int("expert_used_count"),
            feedForwardLength: try keys.optionalInt("expert_feed_forward_length") ?? stack.feedForwardLength,
            normalizeTopK: try keys.optionalBool("expert_weights_norm") ?? normalizeByDefault,
            denseLayers: (0..<stack.layerCount).filter { !tensors.contains("blk.\($0).ffn_gate_inp.weight") })
    }

    /// The architecture keys convert_hf_to_gguf writes for a decoder, in its order, ending with
    /// `general.quantization_version`.
    /// - Parameters:
    ///   - llamaKeys: `vocab_size` and `rope.dimension_count`, which LlamaModel writes.
    ///   - extra: family keys written after the common ones, before `general.file_type`.
    public static func metadata(arch: String, text: TextStack, name: String, fileType: UInt32, llamaKeys: Bool = false,
                                extra: (inout GGUFMetadataList) -> Void = { _ in }) -> GGUFMetadataList {
        var m = GGUFMetadataList()
        m["general.architecture"] = .string(arch)
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["\(arch).block_count"] = .uint32(UInt32(text.layerCount))
        m["\(arch).context_length"] = .uint32(UInt32(text.contextLength))
        m["\(arch).embedding_length"] = .uint32(UInt32(text.hiddenSize))
        m["\(arch).feed_forward_length"] = .uint32(UInt32(text.feedForwardLength))
        m["\(arch).attention.head_count"] = .uint32(UInt32(text.headCount))
        m["\(arch).attention.head_count_kv"] = .uint32(UInt32(text.kvHeadCount))
        if case .rotary(let rotary) = text.positions {
            m["\(arch).rope.freq_base"] = .float32(Float(rotary.theta))
            if let scaling = rotary.scaling, ["linear", "yarn"].contains(scaling.type) {
                m["\(arch).rope.scaling.type"] = .string(scaling.type)
                m["\(arch).rope.scaling.factor"] = .float32(Float(scaling.factor))
                if let original = scaling.originalContextLength {
                    m["\(arch).rope.scaling.original_context_length"] = .uint32(UInt32(original))
                }
            }
        }
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float32(Float(text.normEpsilon))
        if let experts = text.experts {
            m["\(arch).expert_count"] = .uint32(UInt32(experts.expertCount))
            m["\(arch).expert_used_count"] = .uint32(UInt32(experts.usedExpertCount))
        }
        m["\(arch).attention.key_length"] = .uint32(UInt32(text.keyLength))
        m["\(arch).attention.value_length"] = .uint32(UInt32(text.valueLength))
        extra(&m)
        m["general.file_type"] = .uint32(fileType)
        if let experts = text.experts {
            m["\(arch).expert_feed_forward_length"] = .uint32(UInt32(experts.feedForwardLength))
            m["\(arch).expert_weights_norm"] = .bool(experts.normalizeTopK)
        }
        if llamaKeys {
            m["\(arch).vocab_size"] = .uint32(UInt32(text.vocabularySize))
            if let rotary = text.rotary { m["\(arch).rope.dimension_count"] = .uint32(UInt32(rotary.dimensions)) }
        }
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    /// transformers' config.json for a decoder, with 4.x key spellings (which 5.x reads).
    public static func huggingFaceConfig(_ architecture: ModelArchitecture, className: String?, dtype: String,
                                         extra: (inout JSONObject) -> Void = { _ in }) throws -> JSONObject {
        guard let text = architecture.text else { throw ArchitectureError.notConvertible(modelType: architecture.modelType, format: "a decoder config.json") }
        var c = JSONObject()
        c["architectures"] = .array([.string(className ?? architecture.modelType)])
        c["model_type"] = .string(architecture.modelType)
        c["vocab_size"] = .int(text.vocabularySize)
        c["hidden_size"] = .int(text.hiddenSize)
        c["intermediate_size"] = .int(text.feedForwardLength)
        c["num_hidden_layers"] = .int(text.layerCount)
        c["num_attention_heads"] = .int(text.headCount)
        c["num_key_value_heads"] = .int(text.kvHeadCount)
        c["head_dim"] = .int(text.keyLength)
        c["max_position_embeddings"] = .int(text.contextLength)
        c["rms_norm_eps"] = .double(Double(Float(text.normEpsilon)).shortestFloatDecimal)
        if case .rotary(let rotary) = text.positions {
            c["rope_theta"] = .double(rotary.theta)
        }
        c["hidden_act"] = .string(text.activation.configName)
        c["tie_word_embeddings"] = .bool(text.tiedEmbeddings)
        c["attention_bias"] = .bool(text.attentionBias)
        if let experts = text.experts {
            c["num_experts"] = .int(experts.expertCount)
            c["num_experts_per_tok"] = .int(experts.usedExpertCount)
            c["moe_intermediate_size"] = .int(experts.feedForwardLength)
            c["norm_topk_prob"] = .bool(experts.normalizeTopK)
            c["decoder_sparse_step"] = .int(1)
            c["mlp_only_layers"] = .array(experts.denseLayers.map { .int($0) })
        }
        extra(&c)
        c["torch_dtype"] = .string(dtype)
        return c
    }
}

extension Activation {
    /// The name transformers' configs use.
    public var configName: String {
        switch self {
        case .silu: "silu"
        case .gelu: "gelu"
        case .geluTanh: "gelu_pytorch_tanh"
        case .quickGelu: "quick_gelu"
        case .relu: "relu"
        }
    }
}

extension Double {
    /// The shortest decimal of the Float nearest to this value, as a Double (a GGUF float32
    /// epsilon of 1e-6 reads back as 1e-6, not 9.99999997e-07).
    public var shortestFloatDecimal: Double { Double(Float(self).description) ?? self }
}

/// llama.cpp's `rope_freqs` for Llama 3 scaling (LlamaModel.generate_extra_tensors), computed
/// in float32 as torch does.
public func llama3RopeFactors(theta: Double, dimensions: Int, scaling: RopeScaling) -> [Float] {
    let factor = Float(scaling.factor)
    let low = Float(scaling.parameters["low_freq_factor"] ?? 1)
    let high = Float(scaling.parameters["high_freq_factor"] ?? 4)
    let original = Float(scaling.originalContextLength ?? 8192)
    let lowWavelength = Double(original) / Double(low), highWavelength = Double(original) / Double(high)
    return stride(from: 0, to: dimensions, by: 2).map { i in
        let exponent = Float(i) / Float(dimensions)
        let frequency = 1 / Float(pow(Float(theta), exponent))
        let wavelength = (1 / frequency) * Float(2 * Double.pi)
        if Double(wavelength) < highWavelength { return 1 }
        if Double(wavelength) > lowWavelength { return factor }
        let smooth = ((1 / wavelength) * original - low) / (high - low)
        return 1 / ((1 - smooth) / factor + smooth)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
