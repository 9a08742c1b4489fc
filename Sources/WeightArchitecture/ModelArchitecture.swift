/// One typed description of a model, whatever file it was read from: a Hugging Face
/// `config.json`, GGUF metadata (`{arch}.*` keys), Meta's `params.json`, or an expert LM's
/// `config.json`. Budgets, conversion and the runnable models all read this, never raw keys.
public struct ModelArchitecture: Sendable, Equatable {
    /// The model type as Hugging Face spells it (`"qwen2"`, `"qwen3_moe"`, `"llama"`,
    /// `"clip_vision_model"`), or WeightKit's name for families without one (`"meta_mtp"`,
    /// `"expert_lm"`).
    public var modelType: String
    /// The language (or text encoder) stack, if the model has one.
    public var text: TextStack?
    /// The vision encoder, if the model has one.
    public var vision: VisionTower?
    /// The projector from vision features to the language model's embeddings (LLaVA).
    public var projector: VisionProjector?
    /// CLIP's and SigLIP's projections and logit parameters (full contrastive models only).
    public var contrastive: ContrastiveHeads?
    /// The weights' storage type the source names (`torch_dtype` / `dtype`), if any.
    public var storageDType: String?
    /// For composite models (LLaVA): the model type of the language model in `text`.
    public var languageModelType: String?
    /// Where the description came from.
    public var origin: Origin

    public enum Origin: Sendable, Equatable {
        case huggingFaceConfig(path: String)
        case ggufMetadata(path: String)
        case metaParams(path: String)
    }

    public init(modelType: String, text: TextStack? = nil, vision: VisionTower? = nil, projector: VisionProjector? = nil,
                storageDType: String? = nil, origin: Origin) {
        self.modelType = modelType
        self.text = text
        self.vision = vision
        self.projector = projector
        self.storageDType = storageDType
        self.origin = origin
    }
}

/// Where a transformer block applies its norms.
public enum NormPlacement: String, Sendable, Equatable {
    /// `x + f(norm(x))`: most decoders and vision encoders.
    case pre
    /// `norm(x + f(x))`: BERT.
    case post
}

/// How a sentence-embedding model turns token states into one vector (sentence-transformers'
/// `Pooling` modes; llama.cpp's `pooling_type`).
public enum Pooling: String, Sendable, Equatable, CaseIterable {
    case none, mean, cls, last

    /// llama.cpp's `LLAMA_POOLING_TYPE_*` number (`{arch}.pooling_type`).
    public var llamaCppValue: Int {
        switch self {
        case .none: 0
        case .mean: 1
        case .cls: 2
        case .last: 3
        }
    }

    public init?(llamaCppValue: Int) {
        guard let match = Pooling.allCases.first(where: { $0.llamaCppValue == llamaCppValue }) else { return nil }
        self = match
    }
}

/// Normalisation layers.
public enum NormKind: String, Sendable, Equatable {
    /// RMSNorm: x / rms(x) * weight.
    case rms
    /// LayerNorm with weight and bias.
    case layer
}

/// Activation functions, by the names configs use.
public enum Activation: String, Sendable, Equatable {
    case silu
    /// Exact GELU (erf).
    case gelu
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`, `gelu_new`).
    case geluTanh = "gelu_pytorch_tanh"
    /// x * sigmoid(1.702 x), CLIP's.
    case quickGelu = "quick_gelu"
    case relu

    /// Parses a config's `hidden_act`.
    public init?(configName: String) {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast", "gelu_tanh": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        case "relu": self = .relu
        default: return nil
        }
    }
}

/// How token positions enter the model.
public enum PositionEncoding: Sendable, Equatable {
    /// Rotary embeddings applied to queries and keys.
    case rotary(RotaryEmbedding)
    /// A learned table of `count` position embeddings added to the token embeddings.
    case learned(count: Int)
    /// The fixed sine/cosine table of "Attention Is All You Need", added to the embeddings.
    case sinusoidal
}

/// Rotary position embedding parameters.
public struct RotaryEmbedding: Sendable, Equatable {
    public enum Layout: String, Sendable, Equatable {
        /// Hugging Face's rotate-half: pairs (i, i + d/2).
        case halves
        /// Meta's original layout: adjacent pairs (2i, 2i + 1).
        case interleaved
    }
    /// Base frequency (`rope_theta`).
    public var theta: Double
    /// How many dimensions of each head rotate (all of them unless a partial rotary factor says otherwise).
    public var dimensions: Int
    public var layout: Layout
    public var scaling: RopeScaling?

    public init(theta: Double, dimensions: Int, layout: Layout, scaling: RopeScaling? = nil) {
        self.theta = theta
        self.dimensions = dimensions
        self.layout = layout
        self.scaling = scaling
    }
}

/// Context-extension scaling of rotary frequencies, as configs describe it.
public struct RopeScaling: Sendable, Equatable {
    /// "linear", "dynamic", "yarn", "llama3", "longrope"...
    public var type: String
    public var factor: Double
    public var originalContextLength: Int?
    /// llama3: low_freq_factor, high_freq_factor; yarn: beta_fast, beta_slow...
    public var parameters: [String: Double]
    /// Per-frequency factor lists (longrope: `short_factor`, `long_factor`).
    public var factorLists: [String: [Double]]

    public init(type: String, factor: Double, originalContextLength: Int? = nil, parameters: [String: Double] = [:],
                factorLists: [String: [Double]] = [:]) {
        self.type = type
        self.factor = factor
        self.originalContextLength = originalContextLength
        self.parameters = parameters
        self.factorLists = factorLists
    }
}

/// A mixture-of-experts feed-forward block.
public struct MixtureOfExperts: Sendable, Equatable {
    public var expertCount: Int
    /// Experts each token is routed to (top-k).
    public var usedExpertCount: Int
    /// Each expert's intermediate size.
    public var feedForwardLength: Int
    /// Whether the top-k routing weights are renormalised to sum to one (`norm_topk_prob`).
    public var normalizeTopK: Bool
    /// Layers that keep a dense feed-forward block instead (`mlp_only_layers`, `decoder_sparse_step`).
    public var denseLayers: [Int]
    /// The intermediate size of an always-on shared expert, if any.
    public var sharedExpertLength: Int?

    public init(expertCount: Int, usedExpertCount: Int, feedForwardLength: Int, normalizeTopK: Bool,
                denseLayers: [Int] = [], sharedExpertLength: Int? = nil) {
        self.expertCount = expertCount
        self.usedExpertCount = usedExpertCount
        self.feedForwardLength = feedForwardLength
        self.normalizeTopK = normalizeTopK
        self.denseLayers = denseLayers
        self.sharedExpertLength = sharedExpertLength
    }
}

/// Which attention a layer uses.
public enum AttentionSpan: String, Sendable, Equatable {
    case full = "full_attention"
    case sliding = "sliding_attention"
}

/// A stack of transformer blocks over tokens: a decoder LM, a text encoder, an MTP trunk.
public struct TextStack: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// Per-layer KV head counts when layers differ (GGUF arrays); nil when all equal `kvHeadCount`.
    public var kvHeadCountPerLayer: [Int]?
    /// Size of each key (and query) head.
    public var keyLength: Int
    /// Size of each value head.
    public var valueLength: Int
    public var feedForwardLength: Int
    /// Whether the feed-forward block is gated (SwiGLU: gate, up, down) or two plain layers.
    public var gatedFeedForward: Bool
    public var activation: Activation
    public var contextLength: Int
    public var norm: NormKind
    public var normEpsilon: Double
    public var positions: PositionEncoding
    /// Biases on the q, k, v projections.
    public var attentionBias: Bool
    /// A bias on the attention output projection.
    public var attentionOutputBias: Bool
    /// Biases on the feed-forward layers.
    public var feedForwardBias: Bool
    /// RMSNorm on each query and key head (Qwen3).
    public var qkNorm: Bool
    /// Whether the output head shares the token embedding matrix.
    public var tiedEmbeddings: Bool
    /// Whether the LM head has a bias.
    public var outputBias: Bool
    public var causal: Bool
    public var experts: MixtureOfExperts?
    public var slidingWindow: Int?
    /// Per-layer attention spans (`layer_types`); nil when every layer attends fully.
    public var layerTypes: [AttentionSpan]?
    /// Meta's multi-token prediction: `n_future_tokens` heads (the last layer and extra heads).
    public var futureTokens: Int?
    /// BERT's token-type (segment) vocabulary.
    public var tokenTypeCount: Int?
    /// Whether an embedding LayerNorm follows the embeddings (BERT).
    public var embeddingNorm: Bool
    /// Whether a final norm precedes the output head (false for BERT, which has none).
    public var finalNorm: Bool
    /// Whether the model ends in a language-model head (false for encoders).
    public var hasOutputHead: Bool
    /// Where each block normalises: before its sublayers (pre-norm) or after each residual sum
    /// (post-norm, BERT).
    public var normPlacement: NormPlacement = .pre
    /// A norm on each sublayer's output before the residual sum (Gemma 2 and 3:
    /// `post_attention_layernorm`, `post_feedforward_layernorm`).
    public var sublayerOutputNorms = false
    /// Whether the family's RMSNorms multiply by `1 + w` with `w` stored (Gemma). llama.cpp's
    /// converter adds the 1 when it writes GGUF, so Hugging Face files hold `w` and GGUF files
    /// `1 + w`: the weight binder adds the 1 for Hugging Face files only, and the conversion
    /// planners add it on the way to GGUF and take it off on the way back. Set for descriptions
    /// read from either.
    public var unitOffsetNorms = false
    /// Token embeddings are multiplied by this (Gemma: √hidden); nil for none.
    public var embeddingScale: Double?
    /// Attention scores are multiplied by this; nil for 1/√keyLength.
    public var attentionScale: Double?
    /// Scores are squashed to `cap · tanh(score / cap)` before the softmax (Gemma 2).
    public var attentionSoftCap: Double?
    /// Logits are squashed to `cap · tanh(logit / cap)` (Gemma 2).
    public var finalLogitSoftCap: Double?
    /// The rotary parameters of sliding-window layers when they differ from the others'
    /// (Gemma 3: `rope_local_base_freq`, no scaling).
    public var slidingRotary: RotaryEmbedding?
    /// One `qkv_proj` instead of q, k and v (Phi-3): rows q, then k, then v.
    public var fusedQKV = false
    /// One `gate_up_proj` instead of gate and up (Phi-3): gate rows first.
    public var fusedGateUp = false
    /// How an embedding model pools token states (GGUF `pooling_type`); nil when unknown.
    public var pooling: Pooling?
    /// The rows of the token embeddings a GGUF keeps when llama.cpp's converter cuts them to the
    /// tokenizer's size (Gemma 3's `Gemma3Model.modify_tensors`); nil when it keeps all
    /// `vocabularySize`. No configuration names it: `ModelFamily.prepareForGGUF` sets it from the
    /// model directory before a conversion to GGUF is planned.
    public var ggufVocabularySize: Int?

    public init(vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                keyLength: Int, valueLength: Int, feedForwardLength: Int, gatedFeedForward: Bool = true,
                activation: Activation = .silu, contextLength: Int, norm: NormKind = .rms, normEpsilon: Double,
                positions: PositionEncoding, attentionBias: Bool = false, attentionOutputBias: Bool = false,
                feedForwardBias: Bool = false, qkNorm: Bool = false, tiedEmbeddings: Bool = false,
                outputBias: Bool = false, causal: Bool = true, experts: MixtureOfExperts? = nil,
                slidingWindow: Int? = nil, layerTypes: [AttentionSpan]? = nil, futureTokens: Int? = nil,
                tokenTypeCount: Int? = nil, embeddingNorm: Bool = false, finalNorm: Bool = true,
                hasOutputHead: Bool = true, kvHeadCountPerLayer: [Int]? = nil) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.kvHeadCountPerLayer = kvHeadCountPerLayer
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.feedForwardLength = feedForwardLength
        self.gatedFeedForward = gatedFeedForward
        self.activation = activation
        self.contextLength = contextLength
        self.norm = norm
        self.normEpsilon = normEpsilon
        self.positions = positions
        self.attentionBias = attentionBias
        self.attentionOutputBias = attentionOutputBias
        self.feedForwardBias = feedForwardBias
        self.qkNorm = qkNorm
        self.tiedEmbeddings = tiedEmbeddings
        self.outputBias = outputBias
        self.causal = causal
        self.experts = experts
        self.slidingWindow = slidingWindow
        self.layerTypes = layerTypes
        self.futureTokens = futureTokens
        self.tokenTypeCount = tokenTypeCount
        self.embeddingNorm = embeddingNorm
        self.finalNorm = finalNorm
        self.hasOutputHead = hasOutputHead
    }

    /// KV heads of layer `layer`.
    public func kvHeads(layer: Int) -> Int {
        kvHeadCountPerLayer.map { $0[layer] } ?? kvHeadCount
    }

    /// The most KV heads of any layer: what per-layer scratch buffers are sized by.
    public var maxKVHeadCount: Int {
        kvHeadCountPerLayer?.max() ?? kvHeadCount
    }

    /// The rotary parameters of layer `layer` (sliding-window layers may have their own).
    public func rotary(layer: Int) -> RotaryEmbedding? {
        if span(layer: layer) == .sliding, let slidingRotary { return slidingRotary }
        return rotary
    }

    /// The rotary parameters, when positions are rotary.
    public var rotary: RotaryEmbedding? {
        if case .rotary(let rotary) = positions { return rotary }
        return nil
    }

    /// Whether layer `layer` has a mixture-of-experts block.
    public func isSparse(layer: Int) -> Bool {
        guard let experts else { return false }
        return !experts.denseLayers.contains(layer)
    }

    /// The attention span of layer `layer`.
    public func span(layer: Int) -> AttentionSpan {
        layerTypes?[layer] ?? .full
    }
}

/// A ViT-style vision encoder (CLIP, SigLIP).
public struct VisionTower: Sendable, Equatable {
    public enum Family: String, Sendable, Equatable { case clip, siglip }
    public var family: Family
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var feedForwardLength: Int
    public var activation: Activation
    public var normEpsilon: Double
    /// CLIP prepends a class token; SigLIP does not.
    public var classToken: Bool
    /// CLIP's `pre_layrnorm` before the encoder.
    public var preNorm: Bool
    /// SigLIP's multi-head attention pooling head.
    public var poolingHead: Bool
    /// CLIP's `visual_projection` output size, when the checkpoint has one.
    public var projectionSize: Int?

    public init(family: Family, imageSize: Int, patchSize: Int, channels: Int = 3, hiddenSize: Int, layerCount: Int,
                headCount: Int, feedForwardLength: Int, activation: Activation, normEpsilon: Double, classToken: Bool,
                preNorm: Bool, poolingHead: Bool, projectionSize: Int? = nil) {
        self.family = family
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.feedForwardLength = feedForwardLength
        self.activation = activation
        self.normEpsilon = normEpsilon
        self.classToken = classToken
        self.preNorm = preNorm
        self.poolingHead = poolingHead
        self.projectionSize = projectionSize
    }

    /// Patches per image side.
    public var gridSize: Int { imageSize / patchSize }
    /// Patch tokens per image (without the class token).
    public var patchCount: Int { gridSize * gridSize }
    /// Tokens the encoder runs over (patches plus the class token, if any).
    public var sequenceLength: Int { patchCount + (classToken ? 1 : 0) }
}

/// LLaVA's projector: linear, activation, linear.
public struct VisionProjector: Sendable, Equatable {
    public var inputSize: Int
    public var outputSize: Int
    public var activation: Activation
    public var bias: Bool
    /// Which vision hidden state feeds the projector (`vision_feature_layer`, default -2).
    public var featureLayer: Int
    /// "default" drops the class token, "full" keeps it.
    public var selectStrategy: String
    /// Pooling of the patch grid before the LLM (LLaVA-NeXT-Video's `spatial_pool_stride`).
    public var spatialPoolStride: Int?
    /// The tokens one image becomes when the projector pools the patch grid to a fixed count
    /// (Gemma 3's `mm_tokens_per_image`); nil: one per patch.
    public var imageTokens: Int?

    public init(inputSize: Int, outputSize: Int, activation: Activation, bias: Bool = true, featureLayer: Int = -2,
                selectStrategy: String = "default", spatialPoolStride: Int? = nil) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
        self.bias = bias
        self.featureLayer = featureLayer
        self.selectStrategy = selectStrategy
        self.spatialPoolStride = spatialPoolStride
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
