import WeightFormats

// What the vision families (CLIP, SigLIP, and the towers inside LLaVA) share: reading a
// `vision_config` and `text_config`, and the tensors of a ViT tower and a contrastive text tower.

/// Reading vision-tower and contrastive text-tower configurations.
public enum VisionConfig {
    /// A `CLIPVisionConfig` / `SiglipVisionConfig` with transformers' defaults for `family`.
    /// - Parameter projection: CLIP's `visual_projection` width, when the checkpoint has one.
    public static func tower(_ config: ConfigReader, family: VisionTower.Family, projection: Int? = nil) throws -> VisionTower {
        let clip = family == .clip
        return VisionTower(
            family: family, imageSize: try config.int("image_size", 224), patchSize: try config.count("patch_size", clip ? 32 : 16),
            channels: try config.int("num_channels", 3), hiddenSize: try config.int("hidden_size", 768),
            layerCount: try config.int("num_hidden_layers", 12), headCount: try config.count("num_attention_heads", 12),
            feedForwardLength: try config.int("intermediate_size", 3072),
            activation: try config.activation("hidden_act", clip ? .quickGelu : .geluTanh),
            normEpsilon: try config.double("layer_norm_eps", clip ? 1e-5 : 1e-6), classToken: clip, preNorm: clip,
            poolingHead: clip ? false : try config.bool("vision_use_head", true), projectionSize: projection)
    }

    /// CLIP's and SigLIP's text towers: learned positions, LayerNorm, biases everywhere.
    public static func contrastiveText(_ config: ConfigReader, family: VisionTower.Family) throws -> TextStack {
        let clip = family == .clip
        let hidden = try config.count("hidden_size", clip ? 512 : 768)
        let heads = try config.count("num_attention_heads", clip ? 8 : 12)
        let positions = try config.int("max_position_embeddings", clip ? 77 : 64)
        return TextStack(
            vocabularySize: try config.int("vocab_size", clip ? 49408 : 32000), hiddenSize: hidden,
            layerCount: try config.int("num_hidden_layers", 12), headCount: heads, kvHeadCount: heads,
            keyLength: max(1, hidden / heads), valueLength: max(1, hidden / heads),
            feedForwardLength: try config.int("intermediate_size", clip ? 2048 : 3072), gatedFeedForward: false,
            activation: try config.activation("hidden_act", clip ? .quickGelu : .geluTanh), contextLength: positions,
            norm: .layer, normEpsilon: try config.double("layer_norm_eps", clip ? 1e-5 : 1e-6),
            positions: .learned(count: positions), attentionBias: true, attentionOutputBias: true,
            feedForwardBias: true, causal: clip, finalNorm: true, hasOutputHead: false)
    }

    /// The contrastive model (`CLIPModel`, `SiglipModel`): both towers and the heads between.
    static func contrastive(_ config: ConfigReader, modelType: String, family: VisionTower.Family, origin: ModelArchitecture.Origin) throws
        -> ModelArchitecture
    {
        let visionConfig = try config.child("vision_config") ?? config.empty()
        let textConfig = try config.child("text_config") ?? config.empty()
        var vision = try tower(visionConfig, family: family)
        let text = try contrastiveText(textConfig, family: family)
        let heads: ContrastiveHeads
        if family == .clip {
            let projection = try config.count("projection_dim", 512)
            vision.projectionSize = projection
            heads = ContrastiveHeads(textProjectionSize: projection, textProjectionBias: false, logitBias: false)
        } else {
            heads = ContrastiveHeads(
                textProjectionSize: try textConfig.optionalInt("projection_size") ?? text.hiddenSize,
                textProjectionBias: true, logitBias: true)
        }
        var architecture = ModelArchitecture(modelType: modelType, text: text, vision: vision, storageDType: try DecoderConfig.storageType(config),
                                             origin: origin)
        architecture.contrastive = heads
        return architecture
    }
}

/// The tensors of vision towers and contrastive text towers.
public enum VisionSchema {
    /// transformers' ViT block names (`CLIPEncoderLayer`, `SiglipEncoderLayer`).
    static let blockNaming = DecoderNaming(parts: [
        .attentionNorm: ("layer_norm1", "ln1"),
        .query: ("self_attn.q_proj", "attn_q"), .key: ("self_attn.k_proj", "attn_k"), .value: ("self_attn.v_proj", "attn_v"),
        .attentionOutput: ("self_attn.out_proj", "attn_out"),
        .feedForwardNorm: ("layer_norm2", "ln2"),
        .up: ("mlp.fc1", "ffn_up"), .down: ("mlp.fc2", "ffn_down"),
    ])

    /// A token stack with the sizes of a vision tower's blocks (for the shared block layout).
    static func blockShape(_ v: VisionTower) -> TextStack {
        let head = max(1, v.hiddenSize / v.headCount)
        return TextStack(
            vocabularySize: 1, hiddenSize: v.hiddenSize, layerCount: v.layerCount, headCount: v.headCount, kvHeadCount: v.headCount,
            keyLength: head, valueLength: head, feedForwardLength: v.feedForwardLength, gatedFeedForward: false,
            activation: v.activation, contextLength: v.sequenceLength, norm: .layer, normEpsilon: v.normEpsilon,
            positions: .learned(count: v.sequenceLength), attentionBias: true, attentionOutputBias: true, feedForwardBias: true,
            causal: false)
    }

    /// A CLIP or SigLIP vision tower under `prefix` (`vision_model.`); CLIP's visual projection
    /// (outside the prefix) when `tower.projectionSize` is set.
    public static func tower(_ v: VisionTower, prefix: String, into schema: inout TensorSchema) {
        let hidden = v.hiddenSize
        func add(_ part: TensorRole.Part, _ name: String, _ shape: [Int], _ parameter: TensorRole.Parameter = .weight, bare: Bool = false) {
            let suffix = bare ? "" : "." + parameter.rawValue
            schema.add(TensorSpec(role: TensorRole(tower: .vision, part, parameter), huggingFace: .tensor(prefix + name + suffix),
                                  gguf: nil, shape: shape, component: .visionTower))
        }
        if v.classToken { add(.classEmbedding, "embeddings.class_embedding", [hidden], bare: true) }
        add(.patchEmbedding, "embeddings.patch_embedding", [hidden, v.channels, v.patchSize, v.patchSize])
        if v.family == .siglip { add(.patchEmbedding, "embeddings.patch_embedding", [hidden], .bias) }
        add(.positionEmbedding, "embeddings.position_embedding", [v.sequenceLength, hidden])
        if v.preNorm {
            add(.preNorm, "pre_layrnorm", [hidden])
            add(.preNorm, "pre_layrnorm", [hidden], .bias)
        }
        let blocks = blockShape(v)
        for layer in 0..<v.layerCount {
            DecoderSchema.addBlock(layer, blocks, naming: blockNaming, prefixes: (prefix + "encoder.layers.\(layer).", ""),
                                   component: .visionTower, tower: .vision, into: &schema)
        }
        add(.postNorm, "post_layernorm", [hidden])
        add(.postNorm, "post_layernorm", [hidden], .bias)
        if v.poolingHead {
            // SigLIP's attention-pooling head: a probe, nn.MultiheadAttention, LayerNorm, MLP.
            let ff = v.feedForwardLength
            add(.headProbe, "head.probe", [1, 1, hidden], bare: true)
            add(.headAttentionInput, "head.attention.in_proj_weight", [3 * hidden, hidden], bare: true)
            add(.headAttentionInput, "head.attention.in_proj_bias", [3 * hidden], .bias, bare: true)
            add(.headAttentionOutput, "head.attention.out_proj", [hidden, hidden])
            add(.headAttentionOutput, "head.attention.out_proj", [hidden], .bias)
            add(.headNorm, "head.layernorm", [hidden])
            add(.headNorm, "head.layernorm", [hidden], .bias)
            add(.headUp, "head.mlp.fc1", [ff, hidden])
            add(.headUp, "head.mlp.fc1", [ff], .bias)
            add(.headDown, "head.mlp.fc2", [hidden, ff])
            add(.headDown, "head.mlp.fc2", [hidden], .bias)
        }
        if let projection = v.projectionSize {
            schema.add(TensorSpec(role: TensorRole(tower: .vision, .visualProjection), huggingFace: .tensor("visual_projection.weight"),
                                  gguf: nil, shape: [projection, hidden], component: .contrastiveHeads))
        }
    }

    /// CLIP's or SigLIP's text tower under `prefix` (`text_model.`).
    static func contrastiveText(_ t: TextStack, prefix: String, into schema: inout TensorSchema) {
        let hidden = t.hiddenSize
        func add(_ part: TensorRole.Part, _ name: String, _ shape: [Int], _ component: ParameterComponent, _ parameter: TensorRole.Parameter = .weight) {
            schema.add(TensorSpec(role: TensorRole(part, parameter), huggingFace: .tensor(prefix + name + "." + parameter.rawValue),
                                  gguf: nil, shape: shape, component: component))
        }
        add(.tokenEmbedding, "embeddings.token_embedding", [t.vocabularySize, hidden], .embedding)
        if case .learned(let count) = t.positions { add(.positionEmbedding, "embeddings.position_embedding", [count, hidden], .embedding) }
        for layer in 0..<t.layerCount {
            DecoderSchema.addBlock(layer, t, naming: blockNaming, prefixes: (prefix + "encoder.layers.\(layer).", ""), into: &schema)
        }
        add(.finalNorm, "final_layer_norm", [hidden], .norms)
        add(.finalNorm, "final_layer_norm", [hidden], .norms, .bias)
    }

    /// The heads between the towers of a contrastive model.
    static func contrastiveHeads(_ heads: ContrastiveHeads, text: TextStack?, family: VisionTower.Family, into schema: inout TensorSchema) {
        func add(_ part: TensorRole.Part, _ name: String, _ shape: [Int], _ parameter: TensorRole.Parameter = .weight) {
            schema.add(TensorSpec(role: TensorRole(tower: .projector, part, parameter), huggingFace: .tensor(name), gguf: nil, shape: shape,
                                  component: .contrastiveHeads))
        }
        add(.logitScale, "logit_scale", [1])
        if heads.logitBias { add(.logitBias, "logit_bias", [1]) }
        if let text, let size = heads.textProjectionSize {
            let name = family == .clip ? "text_projection" : "text_model.head"
            add(.textProjection, name + ".weight", [size, text.hiddenSize])
            if heads.textProjectionBias { add(.textProjection, name + ".bias", [size], .bias) }
        }
    }
}
