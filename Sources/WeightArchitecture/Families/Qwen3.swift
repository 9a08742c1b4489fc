import WeightFormats

/// Qwen3 (transformers' `Qwen3ForCausalLM`, `Qwen3Config`): the Llama block with an RMSNorm
/// over every query and key head before the rotary embedding (`q_norm`, `k_norm`) and a
/// `head_dim` (128 by default) independent of hidden_size / heads.
public enum Qwen3: ModelFamily {
    public static let modelTypes = ["qwen3"]
    public static let huggingFaceClass: String? = "Qwen3ForCausalLM"
    public static let ggufArchitecture: String? = "qwen3"

    static let defaults = DecoderDefaults(
        vocabularySize: 151936, hiddenSize: 4096, intermediateSize: 22016, layers: 32, heads: 32, headDimension: 128,
        context: 32768, epsilon: 1e-6)

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        let bias = try config.bool("attention_bias", false)
        stack.attentionBias = bias
        stack.attentionOutputBias = bias
        stack.qkNorm = true
        try DecoderConfig.qwenWindows(config, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        ModelArchitecture(modelType: modelTypes[0], text: try DecoderGGUF.textStack(keys, tensors: tensors), origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: .standard)
    }

    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        DecoderGGUF.metadata(arch: "qwen3", text: try architecture.requireText(), name: name, fileType: fileType)
    }

    public static let writesGGUF = true

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype)
    }
}
