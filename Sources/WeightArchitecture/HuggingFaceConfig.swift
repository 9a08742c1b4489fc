import WeightFormats

/// Reads a Hugging Face `config.json` into a `ModelArchitecture`.
///
/// Both spellings transformers writes are accepted: 4.x (`rope_theta`, `rope_scaling`,
/// `torch_dtype`, `num_experts`) and 5.x (`rope_parameters`, `dtype`, `num_local_experts`).
/// Missing keys take the defaults of transformers' configuration class for that model type.
public enum HuggingFaceConfig {
    public static let supportedModelTypes = [
        "llama", "qwen2", "qwen3", "qwen3_moe", "mixtral", "bert", "clip", "clip_vision_model",
        "siglip", "siglip_vision_model", "llava", "llava_next_video", "expert_lm",
    ]

    /// Parses a config file's JSON.
    public static func parse(_ json: JSONValue, file: String) throws -> ModelArchitecture {
        let config = try ConfigReader(json, file: file)
        // A config.json with Meta's params.json keys (dim, n_layers) describes a Meta model.
        if !config.has("model_type") && config.has("dim") && config.has("n_layers") {
            return try MetaParams.parse(json, file: file, origin: .huggingFaceConfig(path: file))
        }
        let modelType = try config.string("model_type")
        let origin = ModelArchitecture.Origin.huggingFaceConfig(path: file)
        let dtype = try config.optionalString("dtype") ?? config.optionalString("torch_dtype")
        var architecture: ModelArchitecture
        switch modelType {
        case "llama", "qwen2", "qwen3", "qwen3_moe", "mixtral":
            architecture = ModelArchitecture(modelType: modelType, text: try decoder(config, modelType: modelType), origin: origin)
        case "bert":
            architecture = ModelArchitecture(modelType: modelType, text: try bert(config), origin: origin)
        case "expert_lm":
            architecture = ModelArchitecture(modelType: modelType, text: try expertLM(config), origin: origin)
        case "clip_vision_model", "siglip_vision_model":
            let family: VisionTower.Family = modelType.hasPrefix("clip") ? .clip : .siglip
            architecture = ModelArchitecture(modelType: modelType, vision: try vision(config, family: family), origin: origin)
        case "clip", "siglip":
            architecture = try contrastive(config, modelType: modelType, origin: origin)
        case "llava", "llava_next_video":
            architecture = try llava(config, modelType: modelType, origin: origin)
        default:
            throw ArchitectureError.unsupportedModelType(file: file, modelType: modelType, supported: supportedModelTypes)
        }
        architecture.storageDType = dtype
        return architecture
    }

    // MARK: Decoder language models

    static func decoder(_ config: ConfigReader, modelType: String) throws -> TextStack {
        let hidden = try config.int("hidden_size", modelType == "llama" || modelType == "mixtral" ? 4096 : (modelType == "qwen3_moe" ? 2048 : 4096))
        let heads = try config.int("num_attention_heads", 32)
        let kvDefault: Int = switch modelType {
        case "mixtral": 8
        case "qwen3_moe": 4
        default: heads
        }
        let kvHeads = try config.int("num_key_value_heads", kvDefault)
        let headDimension = try config.int("head_dim", modelType.hasPrefix("qwen3") ? 128 : hidden / heads)
        let layers = try config.int("num_hidden_layers", modelType == "qwen3_moe" ? 24 : 32)
        let intermediateDefault: Int = switch modelType {
        case "llama": 11008
        case "mixtral": 14336
        case "qwen3_moe": 6144
        default: 22016
        }
        let contextDefault: Int = switch modelType {
        case "llama": 2048
        case "mixtral": 4096 * 32
        default: 32768
        }
        var stack = TextStack(
            vocabularySize: try config.int("vocab_size", modelType.hasPrefix("qwen") ? 151936 : 32000),
            hiddenSize: hidden, layerCount: layers, headCount: heads, kvHeadCount: kvHeads,
            keyLength: headDimension, valueLength: headDimension,
            feedForwardLength: try config.int("intermediate_size", intermediateDefault),
            activation: try config.activation("hidden_act", .silu),
            contextLength: try config.int("max_position_embeddings", contextDefault),
            normEpsilon: try config.double("rms_norm_eps", modelType == "mixtral" ? 1e-5 : 1e-6),
            positions: .rotary(try rotary(config, headDimension: headDimension)),
            tiedEmbeddings: try config.bool("tie_word_embeddings", false))
        switch modelType {
        case "qwen2":
            stack.attentionBias = true
        case "llama":
            let bias = try config.bool("attention_bias", false)
            stack.attentionBias = bias
            stack.attentionOutputBias = bias
            stack.feedForwardBias = try config.bool("mlp_bias", false)
        case "qwen3", "qwen3_moe":
            let bias = try config.bool("attention_bias", false)
            stack.attentionBias = bias
            stack.attentionOutputBias = bias
            stack.qkNorm = true
        default:
            break
        }
        if modelType == "qwen3_moe" || modelType == "mixtral" {
            stack.experts = try experts(config, modelType: modelType, layers: layers)
        }
        // Sliding-window attention: `layer_types` when given, else `use_sliding_window` with
        // `max_window_layers` (Qwen) or a plain `sliding_window` (Mixtral).
        let usesSlidingWindow = modelType == "mixtral" ? config.has("sliding_window") : try config.bool("use_sliding_window", false)
        if usesSlidingWindow { stack.slidingWindow = try config.optionalInt("sliding_window") }
        if let types = try config.stringArray("layer_types") {
            guard types.count == layers else {
                throw ArchitectureError.invalidValue(file: config.file, key: "layer_types", reason: "has \(types.count) entries for \(layers) layers")
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
        } else if modelType != "mixtral", usesSlidingWindow, stack.slidingWindow != nil {
            let windowLayers = try config.int("max_window_layers", 28)
            stack.layerTypes = (0..<layers).map { $0 >= windowLayers ? .sliding : .full }
        }
        return stack
    }

    /// Rotary parameters from `rope_parameters` (5.x) or `rope_theta` + `rope_scaling` (4.x).
    static func rotary(_ config: ConfigReader, headDimension: Int) throws -> RotaryEmbedding {
        let parameters = try config.child("rope_parameters")
        let theta = try parameters?.optionalDouble("rope_theta") ?? config.double("rope_theta", 10000)
        let partial = try parameters?.optionalDouble("partial_rotary_factor") ?? config.optionalDouble("partial_rotary_factor") ?? 1
        var scaling: RopeScaling?
        let scalingSource = try parameters ?? config.child("rope_scaling")
        if let source = scalingSource {
            let type = try source.optionalString("rope_type") ?? source.optionalString("type") ?? "default"
            if type != "default" {
                var extra: [String: Double] = [:]
                for (key, value) in source.object where !["rope_type", "type", "factor", "rope_theta", "original_max_position_embeddings", "partial_rotary_factor"].contains(key) {
                    if let number = value.doubleValue { extra[key] = number }
                }
                scaling = RopeScaling(
                    type: type, factor: try source.double("factor", 1),
                    originalContextLength: try source.optionalInt("original_max_position_embeddings"), parameters: extra)
            }
        }
        return RotaryEmbedding(theta: theta, dimensions: Int(Double(headDimension) * partial), layout: .halves, scaling: scaling)
    }

    static func experts(_ config: ConfigReader, modelType: String, layers: Int) throws -> MixtureOfExperts {
        let count = try config.optionalInt("num_local_experts") ?? config.int("num_experts", modelType == "mixtral" ? 8 : 128)
        let used = try config.int("num_experts_per_tok", modelType == "mixtral" ? 2 : 8)
        if modelType == "mixtral" {
            // Mixtral softmaxes over the chosen experts' logits: the same as renormalising top-k.
            return MixtureOfExperts(expertCount: count, usedExpertCount: used, feedForwardLength: try config.int("intermediate_size", 14336), normalizeTopK: true)
        }
        let step = try config.int("decoder_sparse_step", 1)
        let dense = Set(try config.intArray("mlp_only_layers") ?? [])
        let denseLayers = (0..<layers).filter { dense.contains($0) || count == 0 || (step > 0 && ($0 + 1) % step != 0) }
        return MixtureOfExperts(
            expertCount: count, usedExpertCount: used, feedForwardLength: try config.int("moe_intermediate_size", 768),
            normalizeTopK: try config.bool("norm_topk_prob", false), denseLayers: denseLayers)
    }

    // MARK: Encoders

    static func bert(_ config: ConfigReader) throws -> TextStack {
        let hidden = try config.int("hidden_size", 768)
        let heads = try config.int("num_attention_heads", 12)
        return TextStack(
            vocabularySize: try config.int("vocab_size", 30522), hiddenSize: hidden,
            layerCount: try config.int("num_hidden_layers", 12), headCount: heads, kvHeadCount: heads,
            keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try config.int("intermediate_size", 3072), gatedFeedForward: false,
            activation: try config.activation("hidden_act", .gelu),
            contextLength: try config.int("max_position_embeddings", 512), norm: .layer,
            normEpsilon: try config.double("layer_norm_eps", 1e-12),
            positions: .learned(count: try config.int("max_position_embeddings", 512)),
            attentionBias: true, attentionOutputBias: true, feedForwardBias: true, causal: false,
            tokenTypeCount: try config.int("type_vocab_size", 2), embeddingNorm: true, finalNorm: false,
            hasOutputHead: false)
    }

    /// The expert LM of seed 002: pre-LN blocks of multi-head attention with biases and a
    /// two-layer GELU FFN with biases, sinusoidal positions, a final LayerNorm, an untied LM head
    /// without bias. PyTorch's LayerNorm epsilon (1e-5) unless the config says otherwise.
    static func expertLM(_ config: ConfigReader) throws -> TextStack {
        let hidden = try config.int("d_model", 512)
        let heads = try config.int("n_heads", 8)
        guard heads > 0, hidden % heads == 0 else {
            throw ArchitectureError.invalidValue(file: config.file, key: "n_heads", reason: "must divide d_model (\(hidden))")
        }
        let context = try config.int("max_seq_len", 2048)
        return TextStack(
            vocabularySize: try config.int("vocab_size"), hiddenSize: hidden, layerCount: try config.int("n_layers", 6),
            headCount: heads, kvHeadCount: heads, keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try config.int("d_ff", 2048), gatedFeedForward: false, activation: .gelu,
            contextLength: context, norm: .layer, normEpsilon: try config.double("layer_norm_eps", 1e-5),
            positions: .sinusoidal, attentionBias: true, attentionOutputBias: true, feedForwardBias: true,
            tiedEmbeddings: false, outputBias: false, causal: true)
    }

    // MARK: Vision

    static func vision(_ config: ConfigReader, family: VisionTower.Family) throws -> VisionTower {
        let clip = family == .clip
        return VisionTower(
            family: family, imageSize: try config.int("image_size", 224), patchSize: try config.int("patch_size", clip ? 32 : 16),
            channels: try config.int("num_channels", 3), hiddenSize: try config.int("hidden_size", 768),
            layerCount: try config.int("num_hidden_layers", 12), headCount: try config.int("num_attention_heads", 12),
            feedForwardLength: try config.int("intermediate_size", 3072),
            activation: try config.activation("hidden_act", clip ? .quickGelu : .geluTanh),
            normEpsilon: try config.double("layer_norm_eps", clip ? 1e-5 : 1e-6), classToken: clip, preNorm: clip,
            poolingHead: clip ? false : try config.bool("vision_use_head", true),
            projectionSize: clip ? try config.optionalInt("projection_dim") : nil)
    }

    /// CLIP's and SigLIP's text towers: learned positions, LayerNorm, biases everywhere.
    static func contrastiveText(_ config: ConfigReader, family: VisionTower.Family) throws -> TextStack {
        let clip = family == .clip
        let hidden = try config.int("hidden_size", clip ? 512 : 768)
        let heads = try config.int("num_attention_heads", clip ? 8 : 12)
        let positions = try config.int("max_position_embeddings", clip ? 77 : 64)
        return TextStack(
            vocabularySize: try config.int("vocab_size", clip ? 49408 : 32000), hiddenSize: hidden,
            layerCount: try config.int("num_hidden_layers", 12), headCount: heads, kvHeadCount: heads,
            keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try config.int("intermediate_size", clip ? 2048 : 3072), gatedFeedForward: false,
            activation: try config.activation("hidden_act", clip ? .quickGelu : .geluTanh), contextLength: positions,
            norm: .layer, normEpsilon: try config.double("layer_norm_eps", clip ? 1e-5 : 1e-6),
            positions: .learned(count: positions), attentionBias: true, attentionOutputBias: true,
            feedForwardBias: true, causal: clip, finalNorm: true, hasOutputHead: false)
    }

    static func contrastive(_ config: ConfigReader, modelType: String, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let family: VisionTower.Family = modelType == "clip" ? .clip : .siglip
        let emptyConfig = ConfigReader(object: JSONObject(), file: config.file)
        let visionConfig = try config.child("vision_config") ?? emptyConfig
        let textConfig = try config.child("text_config") ?? emptyConfig
        var vision = try vision(visionConfig, family: family)
        let text = try contrastiveText(textConfig, family: family)
        var heads: ContrastiveHeads
        if family == .clip {
            let projection = try config.int("projection_dim", 512)
            vision.projectionSize = projection
            heads = ContrastiveHeads(textProjectionSize: projection, textProjectionBias: false, logitBias: false)
        } else {
            heads = ContrastiveHeads(
                textProjectionSize: try textConfig.optionalInt("projection_size") ?? text.hiddenSize,
                textProjectionBias: true, logitBias: true)
        }
        var architecture = ModelArchitecture(modelType: modelType, text: text, vision: vision, origin: origin)
        architecture.contrastive = heads
        return architecture
    }

    static func llava(_ config: ConfigReader, modelType: String, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        guard let visionConfig = try config.child("vision_config") else {
            throw ArchitectureError.missingKey(file: config.file, key: "vision_config")
        }
        guard let textConfig = try config.child("text_config") else {
            throw ArchitectureError.missingKey(file: config.file, key: "text_config")
        }
        let visionType = try visionConfig.string("model_type", "clip_vision_model")
        let vision = try vision(visionConfig, family: visionType.hasPrefix("siglip") ? .siglip : .clip)
        let textType = try textConfig.string("model_type", "llama")
        let text = try decoder(textConfig, modelType: textType)
        var layer = -2
        if config.object["vision_feature_layer"]?.arrayValue == nil {
            layer = try config.int("vision_feature_layer", -2)
        } else if let layers = try config.intArray("vision_feature_layer") {
            // Several layers are concatenated feature-wise (VipLLaVA style); one is a plain choice.
            guard layers.count == 1 else {
                throw ArchitectureError.invalidValue(file: config.file, key: "vision_feature_layer", reason: "lists \(layers.count) layers; one is supported")
            }
            layer = layers[0]
        }
        let projector = VisionProjector(
            inputSize: vision.hiddenSize, outputSize: text.hiddenSize,
            activation: try config.activation("projector_hidden_act", .gelu),
            bias: try config.bool("multimodal_projector_bias", true), featureLayer: layer,
            selectStrategy: try config.string("vision_feature_select_strategy", "default"),
            spatialPoolStride: try config.optionalInt("spatial_pool_stride"))
        return ModelArchitecture(modelType: modelType, text: text, vision: vision, projector: projector, origin: origin)
    }
}

/// The heads of a contrastive image-text model (CLIP, SigLIP) beyond its two towers.
public struct ContrastiveHeads: Sendable, Equatable {
    /// Output size of the text projection (CLIP's `text_projection`, SigLIP's text `head`).
    public var textProjectionSize: Int?
    public var textProjectionBias: Bool
    /// SigLIP's learned logit bias next to the logit scale.
    public var logitBias: Bool

    public init(textProjectionSize: Int?, textProjectionBias: Bool, logitBias: Bool) {
        self.textProjectionSize = textProjectionSize
        self.textProjectionBias = textProjectionBias
        self.logitBias = logitBias
    }
}
