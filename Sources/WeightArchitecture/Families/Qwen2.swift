import WeightFormats

/// Qwen2 (transformers' `Qwen2ForCausalLM`, `Qwen2Config`): the Llama block with biases on
/// the q, k and v projections (none on o), often tied embeddings (Qwen2.5-0.5B), sliding
/// windows on the layers from `max_window_layers` when `use_sliding_window` is set.
public enum Qwen2: ModelFamily {
    public static let modelTypes = ["qwen2"]
    public static let huggingFaceClass: String? = "Qwen2ForCausalLM"
    public static let ggufArchitecture: String? = "qwen2"

    static let defaults = DecoderDefaults(
        vocabularySize: 151936, hiddenSize: 4096, intermediateSize: 22016, layers: 32, heads: 32, context: 32768, epsilon: 1e-6)

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        stack.attentionBias = true
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
        DecoderGGUF.metadata(arch: "qwen2", text: try architecture.requireText(), name: name, fileType: fileType)
    }

    public static let writesGGUF = true

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype)
    }
}
