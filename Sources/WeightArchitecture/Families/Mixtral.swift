import WeightFormats

/// Mixtral (transformers' `MixtralForCausalLM`, `MixtralConfig`): Mistral attention and
/// `num_local_experts` SwiGLU experts per layer (`block_sparse_moe`, projections w1/w3/w2),
/// `num_experts_per_tok` of them per token, softmaxed over the chosen experts' logits (the same
/// as renormalising top-k). Read for budgets; llama.cpp stores it as `llama` with experts.
public enum Mixtral: ModelFamily {
    public static let modelTypes = ["mixtral"]
    public static let huggingFaceClass: String? = "MixtralForCausalLM"
    public static let ggufArchitecture: String? = "llama"

    static let defaults = DecoderDefaults(
        vocabularySize: 32000, hiddenSize: 4096, intermediateSize: 14336, layers: 32, heads: 32, kvHeads: 8,
        context: 4096 * 32, epsilon: 1e-5)

    static let naming: DecoderNaming = {
        var naming = DecoderNaming.standard.renaming([.router: ("block_sparse_moe.gate", "ffn_gate_inp")])
        naming.expertPrefix = "block_sparse_moe.experts."
        naming.expertProjections = (gate: "w1", up: "w3", down: "w2")
        naming.packedExperts = false
        return naming
    }()

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        stack.experts = MixtureOfExperts(
            expertCount: try config.optionalInt("num_local_experts") ?? config.int("num_experts", 8),
            usedExpertCount: try config.int("num_experts_per_tok", 2), feedForwardLength: stack.feedForwardLength, normalizeTopK: true)
        if config.has("sliding_window") { stack.slidingWindow = try config.optionalInt("sliding_window") }
        try DecoderConfig.layerTypes(config, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    public static func claims(gguf keys: GGUFKeys) -> Bool {
        (keys.metadata[keys.key("expert_count")]?.intValue ?? 0) > 0
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors)
        stack.experts = try DecoderGGUF.experts(keys, tensors: tensors, stack: stack, normalizeByDefault: true)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: naming, permutesQueryKey: true)
    }
}
