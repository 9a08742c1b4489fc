import WeightFormats

/// Meta's multi-token-prediction LLaMA (facebook/multi-token-prediction), read from
/// `params.json` (the LLaMA reference code's `ModelArgs` plus `n_future_tokens`) and Meta's
/// state-dict names: `layers` holds n_layers - n_future_tokens + 1 blocks (the trunk and head
/// 0), `extra_heads` the other n_future_tokens - 1.
///
/// In GGUF (`llama-mtp`, Docs/META_MTP.md) they are one run of blocks: `layers.N` is `blk.N`,
/// `extra_heads.K` is `blk.(L + K)`, `block_count` is n_layers and `llama-mtp.n_future_tokens`
/// says how many of the last blocks are prediction heads. Meta's q/k rows already are in the
/// adjacent-pair rotary layout, so no permutation is applied.
public enum MetaMTP: ModelFamily {
    public static let modelTypes = ["meta_mtp"]
    public static let ggufArchitecture: String? = "llama-mtp"
    /// The metadata key suffix holding n_future_tokens (`llama-mtp.n_future_tokens`).
    public static let futureTokensKey = "n_future_tokens"

    public static let huggingFaceSpelling = KeySpelling.huggingFace.overriding([
        .hiddenSize: "dim", .layerCount: "n_layers", .headCount: "n_heads", .kvHeadCount: "n_kv_heads",
        .vocabularySize: "vocab_size", .feedForwardLength: "ffn_dim_multiplier", .contextLength: "max_seq_len",
        .normEpsilon: "norm_eps", .ropeTheta: "rope_theta", .futureTokens: "n_future_tokens",
        .keyLength: "dim", .valueLength: "dim", .rotaryDimensions: "dim",
    ])

    static let naming = DecoderNaming(parts: [
        .attentionNorm: ("attention_norm", "attn_norm"),
        .query: ("attention.wq", "attn_q"), .key: ("attention.wk", "attn_k"), .value: ("attention.wv", "attn_v"),
        .attentionOutput: ("attention.wo", "attn_output"),
        .feedForwardNorm: ("ffn_norm", "ffn_norm"),
        .gate: ("feed_forward.w1", "ffn_gate"), .up: ("feed_forward.w3", "ffn_up"), .down: ("feed_forward.w2", "ffn_down"),
    ])

    /// The feed-forward width of Meta's `FeedForward`: two thirds of 4·dim, times
    /// `ffn_dim_multiplier` when given, rounded up to a multiple of `multiple_of`.
    public static func feedForwardLength(dim: Int, multipleOf: Int, multiplier: Double?) -> Int? {
        var hidden = 2 * (4 * dim) / 3
        if let multiplier {
            guard let scaled = CheckedNumber.int(multiplier * Double(hidden)), scaled >= 1 else { return nil }
            hidden = scaled
        }
        let (rounded, overflow) = (hidden + multipleOf - 1).dividedReportingOverflow(by: multipleOf)
        guard !overflow else { return nil }
        let (width, overflowed) = multipleOf.multipliedReportingOverflow(by: rounded)
        return overflowed ? nil : width
    }

    public static func architecture(huggingFace params: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let file = params.file
        let dim = try params.count("dim", limit: ArchitectureLimits.maxHiddenSize)
        let heads = try params.count("n_heads", limit: ArchitectureLimits.maxHeads)
        let layers = try params.count("n_layers", limit: ArchitectureLimits.maxLayers)
        let futureTokens = try params.count("n_future_tokens", 1)
        guard dim % heads == 0 else {
            throw ArchitectureError.ruleViolated(file: file, key: "dim", value: "\(dim)", rule: .multipleOf("n_heads", heads))
        }
        guard futureTokens <= layers else {
            throw ArchitectureError.ruleViolated(file: file, key: "n_future_tokens", value: "\(futureTokens)", rule: .atMostKey("n_layers", layers))
        }
        let multipleOf = try params.count("multiple_of", 256)
        let multiplier = try params.optionalDouble("ffn_dim_multiplier")
        if let multiplier, !(multiplier.isFinite && multiplier > 0) {
            throw ArchitectureError.ruleViolated(file: file, key: "ffn_dim_multiplier", value: "\(multiplier)", rule: .finitePositive)
        }
        guard let width = feedForwardLength(dim: dim, multipleOf: multipleOf, multiplier: multiplier),
              width <= ArchitectureLimits.maxFeedForwardLength else {
            throw ArchitectureError.ruleViolated(file: file, key: "ffn_dim_multiplier", value: "\(multiplier ?? 1)",
                                                 rule: .atMost(ArchitectureLimits.maxFeedForwardLength))
        }
        let vocabulary = try params.int("vocab_size", -1)
        guard vocabulary > 0 else {
            throw ArchitectureError.invalidValue(file: file, key: "vocab_size", reason: "must be set to the tokenizer's size")
        }
        let headDimension = dim / heads
        let text = TextStack(
            vocabularySize: vocabulary, hiddenSize: dim, layerCount: layers, headCount: heads,
            kvHeadCount: try params.count("n_kv_heads", heads), keyLength: headDimension, valueLength: headDimension,
            feedForwardLength: width, contextLength: try params.int("max_seq_len", 2048), normEpsilon: try params.double("norm_eps", 1e-5),
            positions: .rotary(RotaryEmbedding(theta: try params.double("rope_theta", 10000), dimensions: headDimension, layout: .interleaved)),
            futureTokens: futureTokens)
        let kind: ModelArchitecture.Origin = PathName.lastComponent(of: file) == "params.json" ? .metaParams(path: file) : origin
        return ModelArchitecture(modelType: modelTypes[0], text: text, origin: kind)
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors, layout: .interleaved)
        stack.tiedEmbeddings = false
        let future = try keys.int(futureTokensKey)
        guard future >= 1, future <= stack.layerCount else {
            throw ArchitectureError.ruleViolated(file: keys.file, key: keys.key(futureTokensKey), value: "\(future)",
                                                 rule: .between(1, stack.layerCount))
        }
        stack.futureTokens = future
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    /// Blocks in `layers` (the trunk and head 0); the extra heads follow.
    public static func layerCount(_ text: TextStack) -> Int { text.layerCount - (text.futureTokens ?? 1) + 1 }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        let t = try architecture.requireText()
        var schema = TensorSchema()
        let hidden = t.hiddenSize, trunk = layerCount(t)
        func global(_ part: TensorRole.Part, _ meta: String, _ gguf: String, _ shape: [Int], _ component: ParameterComponent) {
            schema.add(TensorSpec(role: TensorRole(part), huggingFace: .tensor(meta), gguf: gguf, shape: shape, component: component))
        }
        global(.tokenEmbedding, "tok_embeddings.weight", "token_embd.weight", [t.vocabularySize, hidden], .embedding)
        for layer in 0..<t.layerCount {
            let meta = layer < trunk ? "layers.\(layer)." : "extra_heads.\(layer - trunk)."
            DecoderSchema.addBlock(layer, t, naming: naming, prefixes: (meta, "blk.\(layer)."),
                                   component: layer < trunk ? nil : .mtpHeads, into: &schema)
        }
        global(.finalNorm, "norm.weight", "output_norm.weight", [hidden], .norms)
        global(.outputHead, "output.weight", "output.weight", [t.vocabularySize, hidden], .outputHead)
        return schema
    }

    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let text = try architecture.requireText()
        let arch = ggufArchitecture!
        var m = DecoderGGUF.metadata(arch: arch, text: text, name: name, fileType: fileType)
        m["\(arch).vocab_size"] = .uint32(UInt32(text.vocabularySize))
        if let rotary = text.rotary { m["\(arch).rope.dimension_count"] = .uint32(UInt32(rotary.dimensions)) }
        m["\(arch).\(futureTokensKey)"] = .uint32(UInt32(text.futureTokens ?? 1))
        return m
    }

    /// Meta's `ModelArgs` keys (written as params.json). GGUF stores the FFN width itself;
    /// `multiple_of` is set to it (and `ffn_dim_multiplier` below 1 when Meta's base width
    /// 2/3 · 4 · dim exceeds it), so that Meta's rule gives the same width back.
    public static let writesGGUF = true
    public static let configFileName = "params.json"

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        let text = try architecture.requireText()
        var p = JSONObject()
        p["dim"] = .int(text.hiddenSize)
        p["n_layers"] = .int(text.layerCount)
        p["n_heads"] = .int(text.headCount)
        p["n_kv_heads"] = .int(text.kvHeadCount)
        p["vocab_size"] = .int(text.vocabularySize)
        p["multiple_of"] = .int(text.feedForwardLength)
        let base = 2 * (4 * text.hiddenSize) / 3
        if base > text.feedForwardLength {
            p["ffn_dim_multiplier"] = .double(Double(text.feedForwardLength) / Double(base))
        }
        p["norm_eps"] = .double(Double(Float(text.normEpsilon)).shortestFloatDecimal)
        if case .rotary(let rotary) = text.positions { p["rope_theta"] = .double(rotary.theta) }
        p["max_seq_len"] = .int(text.contextLength)
        p["n_future_tokens"] = .int(text.futureTokens ?? 1)
        return p
    }
}
