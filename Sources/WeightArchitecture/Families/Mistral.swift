import WeightFormats

/// Mistral (transformers' `MistralForCausalLM`, `MistralConfig`): the Llama block without biases
/// (RMSNorm, rotate-half rotary positions, grouped key/value heads, SwiGLU), every layer attending
/// through a sliding window of `sliding_window` positions (4096 when the key is absent, full
/// attention when it is null; `layer_types` is not read, as transformers' Mistral ignores it).
///
/// llama.cpp's converter writes Mistral as `llama` (LlamaModel, with its q/k row permutation)
/// and llama.cpp attends over the whole context. WeightKit's GGUF adds
/// `llama.attention.sliding_window` when the model has a window (llama.cpp ignores the key);
/// a `llama` file with the key is read back as Mistral, with the window on every layer.
public enum Mistral: ModelFamily {
    public static let modelTypes = ["mistral"]
    public static let huggingFaceClass: String? = "MistralForCausalLM"
    public static let ggufArchitecture: String? = "llama"
    /// llama.cpp's `llama` has no window: full attention, full KV cache.
    public static let llamaCppHonoursSlidingWindow = false

    static let defaults = DecoderDefaults(
        vocabularySize: 32000, hiddenSize: 4096, intermediateSize: 14336, layers: 32, heads: 32, kvHeads: 8,
        context: 4096 * 32, epsilon: 1e-6)
    /// `MistralConfig.sliding_window` when config.json does not name it.
    static let defaultWindow = 4096

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        let window = config.object["sliding_window"] == nil ? defaultWindow : try config.optionalInt("sliding_window")
        DecoderConfig.windowOnEveryLayer(window, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    /// `llama` files with `llama.attention.sliding_window` and no experts.
    public static func claims(gguf keys: GGUFKeys) -> Bool {
        keys.metadata[keys.key("attention.sliding_window")] != nil && (keys.metadata[keys.key("expert_count")]?.intValue ?? 0) == 0
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors)
        // 0 is how llama.cpp's converters spell "no window" (Phi-3's); nothing reads it as a size.
        DecoderConfig.windowOnEveryLayer(stack.slidingWindow == 0 ? nil : stack.slidingWindow, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: .standard, permutesQueryKey: true)
    }

    /// LlamaModel's keys, with `llama.attention.sliding_window` when there is a window.
    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let text = try architecture.requireText()
        return DecoderGGUF.metadata(arch: "llama", text: text, name: name, fileType: fileType, llamaKeys: true) { m in
            if let window = text.slidingWindow { m["llama.attention.sliding_window"] = .uint32(UInt32(window)) }
        }
    }

    public static let writesGGUF = true

    /// With `sliding_window` always written: null for none (an absent key means 4096).
    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        let window = architecture.text?.slidingWindow
        return try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype) { c in
            c["attention_bias"] = nil
            c["sliding_window"] = window.map { .int($0) } ?? .null
        }
    }
}
