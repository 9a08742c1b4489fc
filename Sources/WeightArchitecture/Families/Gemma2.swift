import WeightFormats

/// Gemma 2 (transformers' `Gemma2ForCausalLM`, `Gemma2Config`): the decoder block with a norm on
/// each sublayer's output as well as its input (`post_attention_layernorm`,
/// `post_feedforward_layernorm`), RMSNorms that multiply by `1 + w` in float32, token
/// embeddings scaled by √hidden_size, GeGLU (`gelu_pytorch_tanh`), attention scores scaled by
/// `query_pre_attn_scalar^-0.5` and soft-capped (`attn_logit_softcapping`) before the mask,
/// logits soft-capped (`final_logit_softcapping`), and sliding-window attention on every other
/// layer (the even ones, `layer_types`). A window of W lets a token see itself and the W - 1
/// positions before it, in transformers (`kv_idx > q_idx - W`) and llama.cpp alike.
///
/// llama.cpp's `gemma2` architecture holds the norms with the 1 added (its converter adds it),
/// derives the attention scale from the shapes instead of storing it, always soft-caps, and
/// always reads its output head from `token_embd`.
public enum Gemma2: ModelFamily {
    public static let modelTypes = ["gemma2"]
    public static let huggingFaceClass: String? = "Gemma2ForCausalLM"
    public static let ggufArchitecture: String? = "gemma2"

    static let defaults: DecoderDefaults = {
        var d = DecoderDefaults(
            vocabularySize: 256000, hiddenSize: 2304, intermediateSize: 9216, layers: 26, heads: 8, kvHeads: 4,
            headDimension: 256, context: 8192, epsilon: 1e-6)
        d.activation = .geluTanh
        d.tied = true
        return d
    }()

    /// The layers llama.cpp's gemma2 treats as Gemma 2 27B, whose attention scale it derives
    /// from hidden_size / num_attention_heads rather than head_dim (`llama_model_gemma2`).
    static let largeModelLayers = 46

    /// llama.cpp's soft caps when the GGUF names none (`llama_hparams`).
    static let llamaCppAttentionSoftCap = 50.0, llamaCppFinalSoftCap = 30.0
    /// llama.cpp's gemma2 window when the GGUF names none.
    static let llamaCppWindow = 4096

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try GemmaLayout.textStack(config, defaults: defaults, slidingPeriod: 2)
        stack.attentionSoftCap = try GemmaLayout.softCap(config, "attn_logit_softcapping", 50)
        stack.finalLogitSoftCap = try GemmaLayout.softCap(config, "final_logit_softcapping", 30)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try GemmaLayout.textStack(keys, tensors: tensors, largeModelLayers: largeModelLayers)
        stack.attentionSoftCap = try keys.optionalDouble("attn_logit_softcapping") ?? llamaCppAttentionSoftCap
        stack.finalLogitSoftCap = try keys.optionalDouble("final_logit_softcapping") ?? llamaCppFinalSoftCap
        stack.slidingWindow = try keys.optionalInt("attention.sliding_window") ?? llamaCppWindow
        stack.layerTypes = try GemmaLayout.layerTypes(keys, layers: stack.layerCount, period: 2)
        // llama.cpp: the window layers rotate with `rope.freq_base_swa` when the file has one,
        // with the other layers' scaling.
        if let base = try keys.optionalDouble("rope.freq_base_swa"), var rotary = stack.rotary, base != rotary.theta {
            rotary.theta = base
            stack.slidingRotary = rotary
        }
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        DecoderSchema.build(try architecture.requireText(), naming: GemmaLayout.naming)
    }

    public static let writesGGUF = true
    public static let llamaCppHonoursSlidingWindow = true

    /// Gemma2Model.set_gguf_parameters' keys, in its order; what llama.cpp's gemma2 cannot hold
    /// is refused, and what it reads beyond the converter's keys (a rope base other than its
    /// default, another layer pattern) is added.
    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let t = try architecture.requireText()
        let format = "a gemma2 GGUF"
        try GemmaLayout.requireRepresentable(t, largeModelLayers: largeModelLayers, format: format)
        guard let attentionCap = t.attentionSoftCap else {
            throw ArchitectureError.notRepresentable(key: "attn_logit_softcapping", value: "null", representable: "a cap (llama.cpp's gemma2 always caps attention scores)", format: format)
        }
        guard let finalCap = t.finalLogitSoftCap else {
            throw ArchitectureError.notRepresentable(key: "final_logit_softcapping", value: "null", representable: "a cap (llama.cpp's gemma2 always caps logits)", format: format)
        }
        guard t.tiedEmbeddings else {
            throw ArchitectureError.notRepresentable(key: "tie_word_embeddings", value: "false", representable: "true (llama.cpp's gemma2 reads its output head from token_embd)", format: format)
        }
        guard let rotary = t.rotary, rotary.scaling == nil else {
            throw ArchitectureError.notRepresentable(key: "rope_scaling", value: t.rotary?.scaling?.type ?? "no rotary embedding", representable: "no rope scaling", format: format)
        }
        let arch = "gemma2"
        var m = GGUFMetadataList()
        m["general.architecture"] = .string(arch)
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["\(arch).context_length"] = .uint32(UInt32(t.contextLength))
        m["\(arch).embedding_length"] = .uint32(UInt32(t.hiddenSize))
        m["\(arch).block_count"] = .uint32(UInt32(t.layerCount))
        m["\(arch).feed_forward_length"] = .uint32(UInt32(t.feedForwardLength))
        m["\(arch).attention.head_count"] = .uint32(UInt32(t.headCount))
        m["\(arch).attention.head_count_kv"] = .uint32(UInt32(t.kvHeadCount))
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float32(Float(t.normEpsilon))
        m["\(arch).attention.key_length"] = .uint32(UInt32(t.keyLength))
        m["\(arch).attention.value_length"] = .uint32(UInt32(t.valueLength))
        m["general.file_type"] = .uint32(fileType)
        m["\(arch).attn_logit_softcapping"] = .float32(Float(attentionCap))
        m["\(arch).final_logit_softcapping"] = .float32(Float(finalCap))
        m["\(arch).attention.sliding_window"] = .uint32(UInt32(t.slidingWindow ?? llamaCppWindow))
        // Beyond the converter: keys llama.cpp's gemma2 reads, written only where its defaults
        // would say something else.
        if rotary.theta != 10000 { m["\(arch).rope.freq_base"] = .float32(Float(rotary.theta)) }
        if let sliding = t.slidingRotary, sliding.theta != rotary.theta {
            m["\(arch).rope.freq_base_swa"] = .float32(Float(sliding.theta))
        }
        GemmaLayout.writeLayerTypes(t, period: 2, key: "\(arch).attention.sliding_window_pattern", into: &m)
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype) { c in
            guard let t = architecture.text else { return }
            GemmaLayout.huggingFaceKeys(t, into: &c)
            c["attn_logit_softcapping"] = t.attentionSoftCap.map { .double(Double(Float($0)).shortestFloatDecimal) } ?? .null
            c["final_logit_softcapping"] = t.finalLogitSoftCap.map { .double(Double(Float($0)).shortestFloatDecimal) } ?? .null
        }
    }
}

// What Gemma 2 and Gemma 3 share: the tensor names, the configuration keys read the same way,
// llama.cpp's derived attention scale and layer pattern, and what its GGUF cannot hold.
public enum GemmaLayout {
    /// transformers' names and llama.cpp's: the feed-forward norm is `pre_feedforward_layernorm`,
    /// `post_attention_layernorm` normalises the attention output.
    public static let naming = DecoderNaming.standard.renaming([
        .feedForwardNorm: ("pre_feedforward_layernorm", "ffn_norm"),
        .postAttentionNorm: ("post_attention_layernorm", "post_attention_norm"),
        .postFeedForwardNorm: ("post_feedforward_layernorm", "post_ffw_norm"),
    ])

    /// The keys Gemma 2 and Gemma 3 text configurations read alike: the decoder's, GeGLU from
    /// `hidden_activation` (`hidden_act` in older files), `query_pre_attn_scalar`,
    /// `attention_bias`, `use_bidirectional_attention`, and the layers' spans from `layer_types`
    /// or, in 4.x files, every `slidingPeriod`-th layer full (`sliding_window_pattern`).
    static func textStack(_ config: ConfigReader, defaults: DecoderDefaults, slidingPeriod: Int) throws -> TextStack {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        stack.activation = try config.has("hidden_activation")
            ? config.activation("hidden_activation", defaults.activation) : config.activation("hidden_act", defaults.activation)
        let bias = try config.bool("attention_bias", false)
        stack.attentionBias = bias
        stack.attentionOutputBias = bias
        stack.causal = !(try config.bool("use_bidirectional_attention", false))
        stack.unitOffsetNorms = true
        stack.sublayerOutputNorms = true
        stack.embeddingScale = Double(stack.hiddenSize).squareRoot()
        let scalar = try config.double("query_pre_attn_scalar", 256)
        guard scalar.isFinite, scalar > 0 else {
            throw ArchitectureError.ruleViolated(file: config.file, key: "query_pre_attn_scalar", value: "\(scalar)", rule: .finitePositive)
        }
        stack.attentionScale = attentionScale(scalar: scalar)
        // `sliding_window: null` is a configuration without windows.
        stack.slidingWindow = config.object["sliding_window"] == nil ? 4096 : try config.optionalInt("sliding_window")
        if try !DecoderConfig.layerTypes(config, stack: &stack) {
            let period = try config.count("sliding_window_pattern", slidingPeriod, limit: ArchitectureLimits.maxLayers)
            let spans = pattern(layers: stack.layerCount, period: period)
            if spans.contains(.sliding) { stack.layerTypes = spans }
        }
        return stack
    }

    /// A soft cap, nil when the configuration sets it to null.
    static func softCap(_ config: ConfigReader, _ key: String, _ fallback: Double) throws -> Double? {
        config.object[key] == nil ? fallback : try config.optionalDouble(key)
    }

    /// What scores are multiplied by: `query_pre_attn_scalar^-0.5`.
    public static func attentionScale(scalar: Double) -> Double { 1 / scalar.squareRoot() }

    /// The `query_pre_attn_scalar` an attention scale stands for.
    static func scalar(of scale: Double) -> Double {
        let value = 1 / (scale * scale)
        let rounded = value.rounded()
        return abs(value - rounded) <= 1e-9 * max(1, rounded) ? rounded : value
    }

    /// A number as a message shows it: integers without a fraction.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : JSONWriter.format(value)
    }

    /// The `query_pre_attn_scalar` llama.cpp's gemma2 and gemma3 derive from a GGUF's shapes:
    /// hidden_size / num_attention_heads for the 27B models (told by their layer count), else
    /// the head size.
    static func llamaCppScalar(_ t: TextStack, largeModelLayers: Int) -> Int {
        t.layerCount == largeModelLayers ? t.hiddenSize / t.headCount : t.keyLength
    }

    /// The layer spans transformers and llama.cpp default to: every `period`-th layer attends
    /// fully, the others through the window (llama.cpp's `set_swa_pattern`; period 0: all
    /// windowed, 1: none).
    public static func pattern(layers: Int, period: Int) -> [AttentionSpan] {
        (0..<layers).map { period == 0 || $0 % period < period - 1 ? .sliding : .full }
    }

    /// The description read from llama.cpp's keys, with what its gemma2 and gemma3 assume:
    /// `1 + w` norms (which the GGUF holds with the 1 added), embeddings scaled by √n_embd,
    /// GeGLU, the derived attention scale.
    static func textStack(_ keys: GGUFKeys, tensors: GGUFTensorIndex, largeModelLayers: Int) throws -> TextStack {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors)
        stack.activation = .geluTanh
        stack.unitOffsetNorms = true
        stack.sublayerOutputNorms = true
        stack.embeddingScale = Double(Float(stack.hiddenSize).squareRoot())
        stack.attentionScale = attentionScale(scalar: Double(llamaCppScalar(stack, largeModelLayers: largeModelLayers)))
        stack.slidingWindow = nil
        return stack
    }

    /// The spans `{arch}.attention.sliding_window_pattern` gives (one bool per layer, or a
    /// period), else llama.cpp's default period; nil when no layer has a window.
    static func layerTypes(_ keys: GGUFKeys, layers: Int, period: Int) throws -> [AttentionSpan]? {
        let key = keys.key("attention.sliding_window_pattern")
        var spans = pattern(layers: layers, period: period)
        if let value = keys.metadata[key] {
            if let array = value.arrayValue {
                guard let flags = array.integers(), flags.count == layers else {
                    throw ArchitectureError.invalidValue(file: keys.file, key: key, reason: "must hold one flag per layer (\(layers))")
                }
                spans = flags.map { $0 != 0 ? .sliding : .full }
            } else if let period = value.intValue {
                guard period >= 0, period <= layers else {
                    throw ArchitectureError.ruleViolated(file: keys.file, key: key, value: "\(period)", rule: .between(0, layers))
                }
                spans = pattern(layers: layers, period: period)
            } else {
                throw ArchitectureError.wrongType(file: keys.file, key: key, expected: "an integer or an array of bools")
            }
        }
        return spans.contains(.sliding) ? spans : nil
    }

    /// `{arch}.attention.sliding_window_pattern`, one bool per layer, when the layers' spans are
    /// not llama.cpp's default for the architecture (which the converter relies on).
    static func writeLayerTypes(_ t: TextStack, period: Int, key: String, into m: inout GGUFMetadataList) {
        let spans = t.layerTypes ?? Array(repeating: .full, count: t.layerCount)
        guard spans != pattern(layers: t.layerCount, period: period) else { return }
        m[key] = .array(elementType: .bool, elements: spans.map { .bool($0 == .sliding) })
    }

    /// Refuses what neither llama.cpp's gemma2 nor its gemma3 can hold: an attention scale it
    /// does not derive, biases, bidirectional attention.
    static func requireRepresentable(_ t: TextStack, largeModelLayers: Int, format: String) throws {
        let derived = llamaCppScalar(t, largeModelLayers: largeModelLayers)
        if let scale = t.attentionScale, scale != attentionScale(scalar: Double(derived)) {
            let rule = t.layerCount == largeModelLayers ? "hidden_size / num_attention_heads" : "head_dim"
            throw ArchitectureError.notRepresentable(
                key: "query_pre_attn_scalar", value: number(scalar(of: scale)),
                representable: "\(derived) (llama.cpp derives it as \(rule))", format: format)
        }
        if t.attentionBias || t.attentionOutputBias {
            throw ArchitectureError.notRepresentable(key: "attention_bias", value: "true", representable: "false", format: format)
        }
        if !t.causal {
            throw ArchitectureError.notRepresentable(key: "use_bidirectional_attention", value: "true", representable: "false", format: format)
        }
    }

    /// transformers' Gemma keys for a GGUF's description (4.x spellings, which 5.x reads).
    static func huggingFaceKeys(_ t: TextStack, into c: inout JSONObject) {
        c["hidden_activation"] = .string(t.activation.configName)
        if let scale = t.attentionScale {
            let value = scalar(of: scale)
            c["query_pre_attn_scalar"] = value == value.rounded() && abs(value) < 1e15 ? .int(Int(value)) : .double(value)
        }
        c["sliding_window"] = t.slidingWindow.map { .int($0) } ?? .null
        c["layer_types"] = .array((t.layerTypes ?? Array(repeating: .full, count: t.layerCount)).map { .string($0.rawValue) })
    }
}
