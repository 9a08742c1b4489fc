import WeightFormats

/// Qwen3-MoE (transformers' `Qwen3MoeForCausalLM`, `Qwen3MoeConfig`): Qwen3 attention; the MLP
/// is a router (`mlp.gate`) choosing `num_experts_per_tok` of `num_experts` SwiGLU experts per
/// token, the chosen softmax weights renormalised when `norm_topk_prob` is set. Layers listed
/// in `mlp_only_layers` (or skipped by `decoder_sparse_step`) keep a dense MLP. llama.cpp
/// stacks each projection's experts into one tensor (`ffn_gate_exps`, `[E, I, H]`).
public enum Qwen3MoE: ModelFamily {
    public static let modelTypes = ["qwen3_moe"]
    public static let huggingFaceClass: String? = "Qwen3MoeForCausalLM"
    public static let ggufArchitecture: String? = "qwen3moe"

    static let defaults = DecoderDefaults(
        vocabularySize: 151936, hiddenSize: 2048, intermediateSize: 6144, layers: 24, heads: 32, kvHeads: 4, headDimension: 128,
        context: 32768, epsilon: 1e-6)

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        let bias = try config.bool("attention_bias", false)
        stack.attentionBias = bias
        stack.attentionOutputBias = bias
        stack.qkNorm = true
        stack.experts = try DecoderConfig.qwenExperts(config, layers: stack.layerCount, expertCount: 128, used: 8, width: 768)
        try DecoderConfig.qwenWindows(config, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors)
        // llama.cpp assumes renormalised top-k weights for qwen3moe when the key is absent.
        stack.experts = try DecoderGGUF.experts(keys, tensors: tensors, stack: stack, normalizeByDefault: true)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: .standard)
    }

    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        DecoderGGUF.metadata(arch: "qwen3moe", text: try architecture.requireText(), name: name, fileType: fileType)
    }

    public static let writesGGUF = true

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype)
    }
}
