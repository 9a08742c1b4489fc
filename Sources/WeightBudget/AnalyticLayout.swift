import WeightArchitecture

/// The weight tensors a model has according to its description alone, grouped by projection
/// across layers. Mirrors the parameter lists of the reference implementations: transformers'
/// modeling files, Meta's `llama/model.py`, seed 002's ExpertModel.
public enum AnalyticLayout {
    /// Every weight group of `architecture`.
    public static func groups(of architecture: ModelArchitecture) -> [WeightGroup] {
        var groups: [WeightGroup] = []
        if let text = architecture.text {
            groups += textStack(text, modelType: architecture.modelType)
        }
        if let vision = architecture.vision {
            groups += visionTower(vision)
        }
        if let projector = architecture.projector {
            groups += self.projector(projector, modelType: architecture.modelType)
        }
        if let heads = architecture.contrastive {
            groups += contrastive(heads, vision: architecture.vision, text: architecture.text)
        }
        return groups.filter { $0.copies > 0 && $0.elementsPerCopy > 0 }
    }

    // MARK: Language stacks

    static func textStack(_ text: TextStack, modelType: String) -> [WeightGroup] {
        let hidden = text.hiddenSize
        var groups: [WeightGroup] = []
        groups.append(WeightGroup(name: "token_embedding", component: .embedding, shape: [text.vocabularySize, hidden]))
        if case .learned(let count) = text.positions {
            groups.append(WeightGroup(name: "position_embedding", component: .embedding, shape: [count, hidden]))
        }
        if let types = text.tokenTypeCount {
            groups.append(WeightGroup(name: "token_type_embedding", component: .embedding, shape: [types, hidden]))
        }
        if text.embeddingNorm { groups += norm("embedding_norm", width: hidden, kind: text.norm, component: .norms) }

        // Layers with the same shape are one group; Meta's extra prediction heads are their own.
        let trunkLayers = text.layerCount - ((text.futureTokens ?? 1) - 1)
        var layerGroups: [String: (groups: [WeightGroup], count: Int)] = [:]
        var order: [String] = []
        for layer in 0..<text.layerCount {
            let blockComponent: BudgetComponent? = layer >= trunkLayers ? .mtpHeads : nil
            let block = self.block(text, layer: layer, override: blockComponent)
            let key = block.map { "\($0.name)\($0.shape)\($0.component)" }.joined(separator: ";")
            if layerGroups[key] == nil { order.append(key); layerGroups[key] = (block, 0) }
            layerGroups[key]!.count += 1
        }
        for key in order {
            let (block, count) = layerGroups[key]!
            groups += block.map { var group = $0; group.copies *= count; return group }
        }
        if text.finalNorm { groups += norm("final_norm", width: hidden, kind: text.norm, component: .norms) }
        if text.hasOutputHead && !text.tiedEmbeddings {
            groups.append(WeightGroup(name: "output.weight", component: .outputHead, shape: [text.vocabularySize, hidden]))
            if text.outputBias { groups.append(WeightGroup(name: "output.bias", component: .outputHead, shape: [text.vocabularySize])) }
        }
        if modelType == "bert" {
            // BertModel's pooler: a dense layer over the first token.
            groups.append(WeightGroup(name: "pooler.dense.weight", component: .outputHead, shape: [hidden, hidden]))
            groups.append(WeightGroup(name: "pooler.dense.bias", component: .outputHead, shape: [hidden]))
        }
        return groups
    }

    /// One transformer block's tensors (one copy each).
    static func block(_ text: TextStack, layer: Int, override: BudgetComponent?) -> [WeightGroup] {
        let hidden = text.hiddenSize
        let queryWidth = text.headCount * text.keyLength
        let kvHeads = text.kvHeads(layer: layer)
        let keyWidth = kvHeads * text.keyLength
        let valueWidth = kvHeads * text.valueLength
        let outputInput = text.headCount * text.valueLength
        var groups: [WeightGroup] = []
        func add(_ name: String, _ component: BudgetComponent, _ shape: [Int], routing: (used: Int, count: Int)? = nil, copies: Int = 1) {
            groups.append(WeightGroup(name: "layers.*.\(name)", component: override ?? component, shape: shape, copies: copies, routing: routing))
        }
        add("q_proj.weight", .attention, [queryWidth, hidden])
        add("k_proj.weight", .attention, [keyWidth, hidden])
        add("v_proj.weight", .attention, [valueWidth, hidden])
        add("o_proj.weight", .attention, [hidden, outputInput])
        if text.attentionBias {
            add("q_proj.bias", .attention, [queryWidth])
            add("k_proj.bias", .attention, [keyWidth])
            add("v_proj.bias", .attention, [valueWidth])
        }
        if text.attentionOutputBias { add("o_proj.bias", .attention, [hidden]) }
        if text.qkNorm {
            add("q_norm.weight", .norms, [text.keyLength])
            add("k_norm.weight", .norms, [text.keyLength])
        }
        for name in ["attention_norm", "ffn_norm"] {
            add("\(name).weight", .norms, [hidden])
            if text.norm == .layer { add("\(name).bias", .norms, [hidden]) }
        }
        if let experts = text.experts, text.isSparse(layer: layer) {
            let width = experts.feedForwardLength
            let routing = (used: experts.usedExpertCount, count: experts.expertCount)
            add("router.weight", .router, [experts.expertCount, hidden])
            add("experts.*.gate_proj.weight", .experts, [width, hidden], routing: routing, copies: experts.expertCount)
            add("experts.*.up_proj.weight", .experts, [width, hidden], routing: routing, copies: experts.expertCount)
            add("experts.*.down_proj.weight", .experts, [hidden, width], routing: routing, copies: experts.expertCount)
            if let shared = experts.sharedExpertLength {
                add("shared_expert.gate_proj.weight", .experts, [shared, hidden])
                add("shared_expert.up_proj.weight", .experts, [shared, hidden])
                add("shared_expert.down_proj.weight", .experts, [hidden, shared])
            }
        } else {
            let width = text.feedForwardLength
            if text.gatedFeedForward { add("gate_proj.weight", .mlp, [width, hidden]) }
            add("up_proj.weight", .mlp, [width, hidden])
            add("down_proj.weight", .mlp, [hidden, width])
            if text.feedForwardBias {
                if text.gatedFeedForward { add("gate_proj.bias", .mlp, [width]) }
                add("up_proj.bias", .mlp, [width])
                add("down_proj.bias", .mlp, [hidden])
            }
        }
        return groups
    }

    static func norm(_ name: String, width: Int, kind: NormKind, component: BudgetComponent) -> [WeightGroup] {
        var groups = [WeightGroup(name: "\(name).weight", component: component, shape: [width])]
        if kind == .layer { groups.append(WeightGroup(name: "\(name).bias", component: component, shape: [width])) }
        return groups
    }

    // MARK: Vision

    /// CLIP's and SigLIP's vision transformers (transformers' `CLIPVisionModel`, `SiglipVisionModel`).
    static func visionTower(_ vision: VisionTower) -> [WeightGroup] {
        let hidden = vision.hiddenSize
        let ff = vision.feedForwardLength
        let layers = vision.layerCount
        var groups: [WeightGroup] = []
        func add(_ name: String, _ shape: [Int], copies: Int = 1) {
            groups.append(WeightGroup(name: "vision.\(name)", component: .visionTower, shape: shape, copies: copies))
        }
        if vision.classToken { add("class_embedding", [hidden]) }
        add("patch_embedding.weight", [hidden, vision.channels, vision.patchSize, vision.patchSize])
        if vision.family == .siglip { add("patch_embedding.bias", [hidden]) }
        add("position_embedding.weight", [vision.sequenceLength, hidden])
        if vision.preNorm { add("pre_layernorm.weight", [hidden]); add("pre_layernorm.bias", [hidden]) }
        add("layers.*.qkvo_proj.weight", [hidden, hidden], copies: 4 * layers)
        add("layers.*.qkvo_proj.bias", [hidden], copies: 4 * layers)
        add("layers.*.layer_norm.weight", [hidden], copies: 2 * layers)
        add("layers.*.layer_norm.bias", [hidden], copies: 2 * layers)
        add("layers.*.fc1.weight", [ff, hidden], copies: layers)
        add("layers.*.fc1.bias", [ff], copies: layers)
        add("layers.*.fc2.weight", [hidden, ff], copies: layers)
        add("layers.*.fc2.bias", [hidden], copies: layers)
        add("post_layernorm.weight", [hidden]); add("post_layernorm.bias", [hidden])
        if vision.poolingHead {
            // SigLIP's attention-pooling head: a probe, nn.MultiheadAttention, LayerNorm, MLP.
            add("head.probe", [hidden])
            add("head.attention.in_proj_weight", [3 * hidden, hidden]); add("head.attention.in_proj_bias", [3 * hidden])
            add("head.attention.out_proj.weight", [hidden, hidden]); add("head.attention.out_proj.bias", [hidden])
            add("head.layernorm.weight", [hidden]); add("head.layernorm.bias", [hidden])
            add("head.mlp.fc1.weight", [ff, hidden]); add("head.mlp.fc1.bias", [ff])
            add("head.mlp.fc2.weight", [hidden, ff]); add("head.mlp.fc2.bias", [hidden])
        }
        return groups
    }

    /// LLaVA's two-layer projector (and LLaVA-NeXT's `image_newline`).
    static func projector(_ projector: VisionProjector, modelType: String) -> [WeightGroup] {
        var groups = [
            WeightGroup(name: "multi_modal_projector.linear_1.weight", component: .projector, shape: [projector.outputSize, projector.inputSize]),
            WeightGroup(name: "multi_modal_projector.linear_2.weight", component: .projector, shape: [projector.outputSize, projector.outputSize]),
        ]
        if projector.bias {
            groups.append(WeightGroup(name: "multi_modal_projector.linear_1.bias", component: .projector, shape: [projector.outputSize]))
            groups.append(WeightGroup(name: "multi_modal_projector.linear_2.bias", component: .projector, shape: [projector.outputSize]))
        }
        if modelType.hasPrefix("llava_next") {
            groups.append(WeightGroup(name: "image_newline", component: .projector, shape: [projector.outputSize]))
        }
        return groups
    }

    static func contrastive(_ heads: ContrastiveHeads, vision: VisionTower?, text: TextStack?) -> [WeightGroup] {
        var groups = [WeightGroup(name: "logit_scale", component: .contrastiveHeads, shape: [1])]
        if heads.logitBias { groups.append(WeightGroup(name: "logit_bias", component: .contrastiveHeads, shape: [1])) }
        if let vision, let size = vision.projectionSize {
            groups.append(WeightGroup(name: "visual_projection.weight", component: .contrastiveHeads, shape: [size, vision.hiddenSize]))
        }
        if let text, let size = heads.textProjectionSize {
            groups.append(WeightGroup(name: "text_projection.weight", component: .contrastiveHeads, shape: [size, text.hiddenSize]))
            if heads.textProjectionBias {
                groups.append(WeightGroup(name: "text_projection.bias", component: .contrastiveHeads, shape: [size]))
            }
        }
        return groups
    }
}
