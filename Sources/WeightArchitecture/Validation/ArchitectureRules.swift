/// The rules every architecture description obeys before anything is sized from it.
///
/// Numbers read from a config.json, params.json or GGUF metadata become buffer sizes, loop
/// bounds and divisors. Each family's decoder reads them; this one pass, run on every
/// description before it is handed out, checks them against the table below, so that no layer
/// above ever divides by zero, allocates from an absurd count or indexes past a buffer. A
/// violation names the key as the source spells it, the value found and the rule.
///
/// Limits for descriptions without tensors (a bare config.json for a budget) are documented
/// constants; descriptions read next to tensors are also bounded by them (no more layers than
/// tensors).
public enum ArchitectureLimits {
    public static let maxLayers = 4096
    public static let maxHiddenSize = 1 << 20
    public static let maxVocabularySize = 1 << 24
    public static let maxContextLength = 1 << 31
    /// Attention heads (query or key/value) of one layer.
    public static let maxHeads = 1 << 16
    /// The size of one attention head.
    public static let maxHeadSize = 1 << 16
    /// The inner width of a feed-forward block.
    public static let maxFeedForwardLength = 1 << 24
    public static let maxExperts = 1 << 16
    public static let maxTokenTypes = 1 << 16
    /// Image side in pixels and patch size of a vision tower.
    public static let maxImageSize = 1 << 16
    public static let maxChannels = 64
}

/// One rule a hyper-parameter broke.
public enum ArchitectureRule: Sendable, Equatable, CustomStringConvertible {
    /// At least 1.
    case positive
    /// At least 0.
    case notNegative
    /// At most a limit.
    case atMost(Int)
    /// At most the value of another key (rope dimensions <= head size).
    case atMostKey(String, Int)
    /// A multiple of another key's value (heads of KV heads).
    case multipleOf(String, Int)
    /// An even number (rotary pairs).
    case even
    /// A finite number greater than zero.
    case finitePositive
    /// A finite number.
    case finite
    /// In (0, 1] (`partial_rotary_factor`).
    case unitInterval
    /// Between two bounds, inclusive.
    case between(Int, Int)
    /// The product of the named values does not fit in a 64-bit integer.
    case overflows(String)
    /// No more than the file's tensors can hold (`block_count` of a file with 12 tensors).
    case moreThanTensors(Int)

    /// The rule's name without its values (`multipleOf`), for matching in tests and tools.
    public var name: String {
        switch self {
        case .positive: "positive"
        case .notNegative: "notNegative"
        case .atMost: "atMost"
        case .atMostKey: "atMostKey"
        case .multipleOf: "multipleOf"
        case .even: "even"
        case .finitePositive: "finitePositive"
        case .finite: "finite"
        case .unitInterval: "unitInterval"
        case .between: "between"
        case .overflows: "overflows"
        case .moreThanTensors: "moreThanTensors"
        }
    }

    public var description: String {
        switch self {
        case .positive: "must be at least 1"
        case .notNegative: "must not be negative"
        case .atMost(let limit): "must be at most \(limit)"
        case .atMostKey(let key, let value): "must be at most '\(key)' (\(value))"
        case .multipleOf(let key, let value): "must be a multiple of '\(key)' (\(value))"
        case .even: "must be even"
        case .finitePositive: "must be a finite number above 0"
        case .finite: "must be a finite number"
        case .unitInterval: "must be in (0, 1]"
        case .between(let low, let high): "must be between \(low) and \(high)"
        case .overflows(let what): "makes \(what) overflow"
        case .moreThanTensors(let count): "exceeds what the file's \(count) tensors can hold"
        }
    }
}

/// The hyper-parameters the rules talk about; a `KeySpelling` names each as its source does.
public enum ArchitectureField: String, Sendable, CaseIterable {
    case vocabularySize, hiddenSize, layerCount, headCount, kvHeadCount, keyLength, valueLength
    case feedForwardLength, contextLength, normEpsilon, ropeTheta, rotaryDimensions, partialRotaryFactor
    case ropeScalingFactor, ropeOriginalContext, slidingWindow, expertCount, usedExpertCount
    case expertFeedForwardLength, sharedExpertLength, futureTokens, tokenTypeCount, positionCount
    case attentionScale, attentionSoftCap, finalLogitSoftCap, embeddingScale, layerTypes, denseLayers
    case slidingRopeTheta
    // Vision towers and projectors.
    case imageSize, patchSize, channels, visionHiddenSize, visionLayerCount, visionHeadCount
    case visionFeedForwardLength, visionNormEpsilon, projectionSize, projectorInputSize, projectorOutputSize
    case featureLayer, poolStride
}

/// How a source names each field: Hugging Face's config keys, llama.cpp's `{arch}.*` keys,
/// Meta's params.json keys. Families with their own spellings override entries.
public struct KeySpelling: Sendable {
    public let name: @Sendable (ArchitectureField) -> String

    public init(_ name: @escaping @Sendable (ArchitectureField) -> String) {
        self.name = name
    }

    /// transformers' configuration keys.
    public static let huggingFace = KeySpelling { field in
        switch field {
        case .vocabularySize: "vocab_size"
        case .hiddenSize: "hidden_size"
        case .layerCount: "num_hidden_layers"
        case .headCount: "num_attention_heads"
        case .kvHeadCount: "num_key_value_heads"
        case .keyLength, .valueLength: "head_dim"
        case .feedForwardLength: "intermediate_size"
        case .contextLength, .positionCount: "max_position_embeddings"
        case .normEpsilon: "rms_norm_eps"
        case .ropeTheta: "rope_theta"
        case .rotaryDimensions, .partialRotaryFactor: "partial_rotary_factor"
        case .ropeScalingFactor: "rope_scaling.factor"
        case .ropeOriginalContext: "rope_scaling.original_max_position_embeddings"
        case .slidingWindow: "sliding_window"
        case .expertCount: "num_experts"
        case .usedExpertCount: "num_experts_per_tok"
        case .expertFeedForwardLength: "moe_intermediate_size"
        case .sharedExpertLength: "shared_expert_intermediate_size"
        case .futureTokens: "n_future_tokens"
        case .tokenTypeCount: "type_vocab_size"
        case .attentionScale: "query_pre_attn_scalar"
        case .attentionSoftCap: "attn_logit_softcapping"
        case .finalLogitSoftCap: "final_logit_softcapping"
        case .embeddingScale: "hidden_size"
        case .layerTypes: "layer_types"
        case .denseLayers: "mlp_only_layers"
        case .slidingRopeTheta: "rope_local_base_freq"
        case .imageSize: "image_size"
        case .patchSize: "patch_size"
        case .channels: "num_channels"
        case .visionHiddenSize: "hidden_size"
        case .visionLayerCount: "num_hidden_layers"
        case .visionHeadCount: "num_attention_heads"
        case .visionFeedForwardLength: "intermediate_size"
        case .visionNormEpsilon: "layer_norm_eps"
        case .projectionSize: "projection_dim"
        case .projectorInputSize: "vision_config.hidden_size"
        case .projectorOutputSize: "text_config.hidden_size"
        case .featureLayer: "vision_feature_layer"
        case .poolStride: "spatial_pool_stride"
        }
    }

    /// llama.cpp's GGUF keys for architecture `arch` (`{arch}.attention.head_count`...).
    public static func gguf(_ arch: String) -> KeySpelling {
        KeySpelling { field in
            let suffix: String = switch field {
            case .vocabularySize: "vocab_size"
            case .hiddenSize: "embedding_length"
            case .layerCount: "block_count"
            case .headCount: "attention.head_count"
            case .kvHeadCount: "attention.head_count_kv"
            case .keyLength: "attention.key_length"
            case .valueLength: "attention.value_length"
            case .feedForwardLength: "feed_forward_length"
            case .contextLength, .positionCount: "context_length"
            case .normEpsilon: "attention.layer_norm_rms_epsilon"
            case .ropeTheta: "rope.freq_base"
            case .rotaryDimensions, .partialRotaryFactor: "rope.dimension_count"
            case .ropeScalingFactor: "rope.scaling.factor"
            case .ropeOriginalContext: "rope.scaling.original_context_length"
            case .slidingWindow: "attention.sliding_window"
            case .expertCount: "expert_count"
            case .usedExpertCount: "expert_used_count"
            case .expertFeedForwardLength: "expert_feed_forward_length"
            case .sharedExpertLength: "expert_shared_feed_forward_length"
            case .futureTokens: "n_future_tokens"
            case .tokenTypeCount: "token_type_count"
            case .attentionScale: "attention.scale"
            case .attentionSoftCap: "attn_logit_softcapping"
            case .finalLogitSoftCap: "final_logit_softcapping"
            case .embeddingScale: "embedding_scale"
            case .layerTypes: "attention.sliding_window_pattern"
            case .denseLayers: "leading_dense_block_count"
            case .slidingRopeTheta: "rope.freq_base_swa"
            case .imageSize: "vision.image_size"
            case .patchSize: "vision.patch_size"
            case .channels: "vision.num_channels"
            case .visionHiddenSize: "vision.embedding_length"
            case .visionLayerCount: "vision.block_count"
            case .visionHeadCount: "vision.attention.head_count"
            case .visionFeedForwardLength: "vision.feed_forward_length"
            case .visionNormEpsilon: "vision.attention.layer_norm_epsilon"
            case .projectionSize: "vision.projection_dim"
            case .projectorInputSize: "vision.embedding_length"
            case .projectorOutputSize: "vision.projection_dim"
            case .featureLayer: "vision.feature_layer"
            case .poolStride: "vision.pool_stride"
            }
            return "\(arch).\(suffix)"
        }
    }

    /// A composite model's spelling (CLIP, SigLIP, LLaVA): vision fields under `vision_config.`,
    /// token-stack fields under `text_config.`.
    public var nested: KeySpelling {
        let base = name
        return KeySpelling { field in
            switch field {
            case .imageSize, .patchSize, .channels, .visionHiddenSize, .visionLayerCount, .visionHeadCount,
                 .visionFeedForwardLength, .visionNormEpsilon:
                return "vision_config." + base(field)
            case .projectionSize, .projectorInputSize, .projectorOutputSize, .featureLayer, .poolStride:
                return base(field)
            default:
                return "text_config." + base(field)
            }
        }
    }

    /// This spelling with some fields named otherwise.
    public func overriding(_ names: [ArchitectureField: String]) -> KeySpelling {
        let base = name
        return KeySpelling { names[$0] ?? base($0) }
    }
}

/// Runs the rules over a description. Every family's decoder calls this (through
/// `ModelFamilies`) before returning, and conversions run it on what they write.
public struct ArchitectureValidator {
    let file: String
    let spelling: KeySpelling
    /// Tensors in the file the description came with, if any (0 or nil: a description without
    /// tensors, bounded by the documented limits only).
    let tensorCount: Int?

    public init(file: String, spelling: KeySpelling, tensorCount: Int? = nil) {
        self.file = file
        self.spelling = spelling
        self.tensorCount = tensorCount
    }

    func violation(_ field: ArchitectureField, _ value: String, _ rule: ArchitectureRule) -> ArchitectureError {
        .ruleViolated(file: file, key: spelling.name(field), value: value, rule: rule)
    }

    /// A count: at least `minimum`, at most `limit`.
    func count(_ field: ArchitectureField, _ value: Int, minimum: Int = 1, limit: Int) throws {
        if value < minimum { throw violation(field, "\(value)", minimum == 0 ? .notNegative : minimum == 1 ? .positive : .between(minimum, limit)) }
        if value > limit { throw violation(field, "\(value)", .atMost(limit)) }
    }

    func finitePositive(_ field: ArchitectureField, _ value: Double) throws {
        guard value.isFinite, value > 0 else { throw violation(field, "\(value)", .finitePositive) }
    }

    /// The product of `factors` fits in an Int; a violation names `field` with its own `value`
    /// (the image size, not the sequence length it gives).
    func product(_ factors: [Int], _ what: String, field: ArchitectureField, value: Int) throws {
        var total = 1
        for factor in factors {
            let (result, overflow) = total.multipliedReportingOverflow(by: max(factor, 0))
            guard !overflow else { throw violation(field, "\(value)", .overflows(what)) }
            total = result
        }
    }

    /// Checks every rule of the table for the description's parts.
    public func validate(_ architecture: ModelArchitecture) throws {
        if let text = architecture.text { try validate(text) }
        if let vision = architecture.vision { try validate(vision) }
        if let projector = architecture.projector { try validate(projector, vision: architecture.vision) }
        if let heads = architecture.contrastive, let size = heads.textProjectionSize {
            try count(.projectionSize, size, limit: ArchitectureLimits.maxHiddenSize)
        }
    }

    /// The rules for a token stack, in the order a reader would check them.
    public func validate(_ t: TextStack) throws {
        typealias L = ArchitectureLimits
        // Counts that size everything else.
        try count(.layerCount, t.layerCount, limit: L.maxLayers)
        if let tensorCount, tensorCount > 0, t.layerCount > tensorCount {
            throw violation(.layerCount, "\(t.layerCount)", .moreThanTensors(tensorCount))
        }
        try count(.hiddenSize, t.hiddenSize, limit: L.maxHiddenSize)
        // 0 where a file does not say (a GGUF of hyper-parameters only, for budgets); a
        // description read beside tensors has an embedding of at least one row.
        let vocabularyMinimum = (tensorCount ?? 0) > 0 ? 1 : 0
        try count(.vocabularySize, t.vocabularySize, minimum: vocabularyMinimum, limit: L.maxVocabularySize)
        try count(.contextLength, t.contextLength, minimum: 0, limit: L.maxContextLength)
        try count(.headCount, t.headCount, limit: L.maxHeads)
        for kv in t.kvHeadCountPerLayer ?? [t.kvHeadCount] {
            try count(.kvHeadCount, kv, limit: t.headCount)
            guard t.headCount % kv == 0 else {
                throw violation(.headCount, "\(t.headCount)", .multipleOf(spelling.name(.kvHeadCount), kv))
            }
        }
        try count(.keyLength, t.keyLength, limit: L.maxHeadSize)
        try count(.valueLength, t.valueLength, limit: L.maxHeadSize)
        try count(.feedForwardLength, t.feedForwardLength, minimum: t.experts == nil ? 1 : 0, limit: L.maxFeedForwardLength)
        try finitePositive(.normEpsilon, t.normEpsilon)
        // Positions.
        switch t.positions {
        case .rotary(let rotary):
            try validate(rotary, keyLength: t.keyLength, context: t.contextLength, theta: .ropeTheta)
        case .learned(let count):
            try self.count(.positionCount, count, limit: L.maxContextLength)
            try product([count, t.hiddenSize], "the position table", field: .positionCount, value: count)
        case .sinusoidal:
            try product([t.contextLength, t.hiddenSize], "the position table", field: .contextLength, value: t.contextLength)
        }
        if let sliding = t.slidingRotary {
            try validate(sliding, keyLength: t.keyLength, context: t.contextLength, theta: .slidingRopeTheta)
        }
        if let window = t.slidingWindow { try count(.slidingWindow, window, limit: L.maxContextLength) }
        if let types = t.layerTypes, types.count != t.layerCount {
            throw violation(.layerTypes, "\(types.count) entries", .between(t.layerCount, t.layerCount))
        }
        if t.layerTypes?.contains(.sliding) == true, t.slidingWindow == nil {
            throw ArchitectureError.missingKey(file: file, key: spelling.name(.slidingWindow))
        }
        // Optional scalars.
        if let scale = t.attentionScale { try finitePositive(.attentionScale, scale) }
        if let cap = t.attentionSoftCap { try finitePositive(.attentionSoftCap, cap) }
        if let cap = t.finalLogitSoftCap { try finitePositive(.finalLogitSoftCap, cap) }
        if let scale = t.embeddingScale { try finitePositive(.embeddingScale, scale) }
        if let types = t.tokenTypeCount { try count(.tokenTypeCount, types, limit: L.maxTokenTypes) }
        if let future = t.futureTokens { try count(.futureTokens, future, limit: t.layerCount) }
        if let experts = t.experts {
            try count(.expertCount, experts.expertCount, limit: L.maxExperts)
            try count(.usedExpertCount, experts.usedExpertCount, limit: experts.expertCount)
            try count(.expertFeedForwardLength, experts.feedForwardLength, limit: L.maxFeedForwardLength)
            if let shared = experts.sharedExpertLength { try count(.sharedExpertLength, shared, limit: L.maxFeedForwardLength) }
            for layer in experts.denseLayers where layer < 0 || layer >= t.layerCount {
                throw violation(.denseLayers, "\(layer)", .between(0, t.layerCount - 1))
            }
            try product([experts.expertCount, experts.feedForwardLength, t.hiddenSize], "the expert weights", field: .expertCount, value: experts.expertCount)
        }
        // Products that size weights and per-token buffers.
        try product([t.vocabularySize, t.hiddenSize], "the embedding matrix", field: .vocabularySize, value: t.vocabularySize)
        try product([t.headCount, t.keyLength, t.hiddenSize], "the query projection", field: .headCount, value: t.headCount)
        try product([t.feedForwardLength, t.hiddenSize, 3], "the feed-forward weights", field: .feedForwardLength, value: t.feedForwardLength)
    }

    func validate(_ rotary: RotaryEmbedding, keyLength: Int, context: Int, theta: ArchitectureField) throws {
        try finitePositive(theta, rotary.theta)
        guard keyLength % 2 == 0 else { throw violation(.keyLength, "\(keyLength)", .even) }
        try count(.rotaryDimensions, rotary.dimensions, minimum: 2, limit: ArchitectureLimits.maxHeadSize)
        guard rotary.dimensions % 2 == 0 else { throw violation(.rotaryDimensions, "\(rotary.dimensions)", .even) }
        guard rotary.dimensions <= keyLength else {
            throw violation(.rotaryDimensions, "\(rotary.dimensions)", .atMostKey(spelling.name(.keyLength), keyLength))
        }
        if let scaling = rotary.scaling {
            try finitePositive(.ropeScalingFactor, scaling.factor)
            if let original = scaling.originalContextLength {
                try count(.ropeOriginalContext, original, limit: ArchitectureLimits.maxContextLength)
            }
            // In key order, so that the same file always names the same key.
            for (key, value) in scaling.parameters.sorted(by: { $0.key < $1.key }) where !value.isFinite {
                throw ArchitectureError.ruleViolated(file: file, key: "rope_scaling.\(key)", value: "\(value)", rule: .finite)
            }
            for (key, values) in scaling.factorLists.sorted(by: { $0.key < $1.key }) {
                guard values.count == rotary.dimensions / 2 else {
                    throw ArchitectureError.ruleViolated(
                        file: file, key: "rope_scaling.\(key)", value: "\(values.count) entries",
                        rule: .between(rotary.dimensions / 2, rotary.dimensions / 2))
                }
                for value in values where !(value.isFinite && value > 0) {
                    throw ArchitectureError.ruleViolated(file: file, key: "rope_scaling.\(key)", value: "\(value)", rule: .finitePositive)
                }
            }
        }
    }

    public func validate(_ v: VisionTower) throws {
        typealias L = ArchitectureLimits
        try count(.imageSize, v.imageSize, limit: L.maxImageSize)
        try count(.patchSize, v.patchSize, limit: v.imageSize)
        try count(.channels, v.channels, limit: L.maxChannels)
        try count(.visionHiddenSize, v.hiddenSize, limit: L.maxHiddenSize)
        try count(.visionLayerCount, v.layerCount, limit: L.maxLayers)
        if let tensorCount, tensorCount > 0, v.layerCount > tensorCount {
            throw violation(.visionLayerCount, "\(v.layerCount)", .moreThanTensors(tensorCount))
        }
        try count(.visionHeadCount, v.headCount, limit: v.hiddenSize)
        guard v.hiddenSize % v.headCount == 0 else {
            throw violation(.visionHiddenSize, "\(v.hiddenSize)", .multipleOf(spelling.name(.visionHeadCount), v.headCount))
        }
        try count(.visionFeedForwardLength, v.feedForwardLength, limit: L.maxFeedForwardLength)
        try finitePositive(.visionNormEpsilon, v.normEpsilon)
        if let projection = v.projectionSize { try count(.projectionSize, projection, limit: L.maxHiddenSize) }
        try product([v.sequenceLength, v.sequenceLength], "the attention scores", field: .imageSize, value: v.imageSize)
        try product([v.hiddenSize, v.channels, v.patchSize, v.patchSize], "the patch embedding", field: .patchSize, value: v.patchSize)
        try product([v.feedForwardLength, v.hiddenSize, 2], "the feed-forward weights", field: .visionFeedForwardLength, value: v.feedForwardLength)
    }

    func validate(_ p: VisionProjector, vision: VisionTower?) throws {
        try count(.projectorInputSize, p.inputSize, limit: ArchitectureLimits.maxHiddenSize)
        try count(.projectorOutputSize, p.outputSize, limit: ArchitectureLimits.maxHiddenSize)
        if let vision {
            let states = vision.layerCount + 1
            guard p.featureLayer >= -states, p.featureLayer < states else {
                throw violation(.featureLayer, "\(p.featureLayer)", .between(-states, states - 1))
            }
        }
        if let stride = p.spatialPoolStride { try count(.poolStride, stride, limit: ArchitectureLimits.maxImageSize) }
    }
}

/// Checked conversions of numbers read from files.
public enum CheckedNumber {
    /// `Int(value)` when `value` is finite and in range, rounding toward zero as `Int(_:)` does;
    /// nil otherwise (where `Int(_:)` would trap).
    public static func int(_ value: Double) -> Int? {
        guard value.isFinite, value > -9.2e18, value < 9.2e18 else { return nil }
        return Int(value)
    }
}
