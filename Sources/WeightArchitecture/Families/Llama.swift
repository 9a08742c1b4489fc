import WeightFormats

/// Llama (transformers' `LlamaForCausalLM`, `LlamaConfig`): RMSNorm, rotary positions
/// (rotate-half), grouped key/value heads, SwiGLU; optional attention and MLP biases
/// (`attention_bias`, `mlp_bias`). llama.cpp's converter reorders the q and k rows for its
/// adjacent-pair rotary kernel and writes Llama 3 scaling as `rope_freqs`.
public enum Llama: ModelFamily {
    public static let modelTypes = ["llama"]
    public static let huggingFaceClass: String? = "LlamaForCausalLM"
    public static let ggufArchitecture: String? = "llama"

    static let defaults = DecoderDefaults(
        vocabularySize: 32000, hiddenSize: 4096, intermediateSize: 11008, layers: 32, heads: 32, context: 2048, epsilon: 1e-6)

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        let bias = try config.bool("attention_bias", false)
        stack.attentionBias = bias
        stack.attentionOutputBias = bias
        stack.feedForwardBias = try config.bool("mlp_bias", false)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    /// `llama` files with a sliding window are Mistral's, with experts Mixtral's.
    public static func claims(gguf keys: GGUFKeys) -> Bool {
        keys.metadata[keys.key("attention.sliding_window")] == nil && (keys.metadata[keys.key("expert_count")]?.intValue ?? 0) == 0
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        ModelArchitecture(modelType: modelTypes[0], text: try DecoderGGUF.textStack(keys, tensors: tensors), origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: .standard, permutesQueryKey: true)
    }

    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        DecoderGGUF.metadata(arch: "llama", text: try architecture.requireText(), name: name, fileType: fileType, llamaKeys: true)
    }

    public static let writesGGUF = true

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype)
    }

    public static func generatedTensors(_ architecture: ModelArchitecture) -> [GeneratedTensor] {
        guard let text = architecture.text, let rotary = text.rotary, let scaling = rotary.scaling, scaling.type == "llama3" else { return [] }
        return [GeneratedTensor(name: "rope_freqs.weight", values: llama3RopeFactors(theta: rotary.theta, dimensions: text.keyLength, scaling: scaling))]
    }
}

extension ModelArchitecture {
    /// The token stack, or an error for descriptions without one.
    public func requireText() throws -> TextStack {
        guard let text else { throw ArchitectureError.notConvertible(modelType: modelType, format: "a language model") }
        return text
    }
}
