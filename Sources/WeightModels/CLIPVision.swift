import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// CLIP's vision tower, as transformers' `CLIPVisionModel` / `CLIPVisionModelWithProjection`
/// computes it (transformers/models/clip/modeling_clip.py):
///
///     x = [class_embedding; patch_embedding(pixels)] + position_embedding
///     x = pre_layrnorm(x); x = encoder(x)              last_hidden_state = x
///     pooled = post_layernorm(x[:, 0])                  image_embeds = visual_projection(pooled)
///
/// Checkpoints: `CLIPVisionModel`, `CLIPVisionModelWithProjection`, a full `CLIPModel` (the text
/// half is ignored) and LLaVA's `vision_tower`.
enum CLIPVision {
    static func build(checkpoint: Checkpoint, tower: VisionTower, context: ComputeContext, adapters: [ScaledAdapter] = []) throws
        -> VisionTransformer {
        let binding = try VisionBinding(checkpoint: checkpoint, model: "clip_vision_model", adapters: adapters)
        let b = binding.binder, hidden = tower.hiddenSize
        let patchLength = tower.channels * tower.patchSize * tower.patchSize
        let patchView = b.tensor(binding.name("embeddings.patch_embedding.weight"),
                                 shape: [hidden, tower.channels, tower.patchSize, tower.patchSize])
        let classEmbedding = b.vector(binding.name("embeddings.class_embedding"), count: hidden)
        let positions = b.tensor(binding.name("embeddings.position_embedding.weight"), shape: [tower.patchCount + 1, hidden])
        let preNorm = binding.layerNorm(binding.name("pre_layrnorm"), tower: tower)
        let layers = try binding.encoderLayers(tower)
        // llama.cpp's LLaVA mmproj files drop post_layernorm (and the last block): no pooled output.
        let hasPostNorm = !binding.gguf || b.has(binding.name("post_layernorm.weight"))
        let postNorm = hasPostNorm ? binding.layerNorm(binding.name("post_layernorm"), tower: tower) : nil
        // The projection lives outside the vision prefix; CLIPVisionModel and LLaVA have none.
        var projection: WeightMatrix?
        if b.has("visual_projection.weight") {
            let size = tower.projectionSize ?? checkpoint.tensor(named: "visual_projection.weight")?.shape.first ?? 0
            projection = b.matrix("visual_projection.weight", rows: size, columns: hidden)
        }
        let patchEmbedding = patchView.map { b.matrix($0, rows: hidden, columns: patchLength) } ?? WeightBinder.placeholder
        let positionTable = positions.map { b.floats($0) } ?? []
        try b.finish()
        return VisionTransformer(
            tower: tower, context: context, patchEmbedding: patchEmbedding, patchBias: nil, classEmbedding: classEmbedding,
            positionEmbedding: positionTable, preNorm: preNorm, layers: layers, postNorm: postNorm,
            pooling: hasPostNorm ? .classToken : .none, projection: projection)
    }
}

/// Binds the tensors of one vision tower, wherever its names start: `""`, `vision_model.`,
/// `vision_tower.`, `vision_tower.vision_model.`, `model.vision_tower.`... The tower is found by
/// its patch embedding; tensors outside it (a text tower, a language model) are left alone.
/// In a llama.cpp mmproj GGUF the names are `v.*` (see `ggufName`), and `mm.*` belongs to the projector.
struct VisionBinding {
    let binder: WeightBinder
    let prefix: String
    let gguf: Bool
    /// llama.cpp's legacy image-encoder converter stores `mlp.fc1` as `ffn_down` and `mlp.fc2` as
    /// `ffn_up`; newer converters use `ffn_up` for `fc1`. Told apart by the tensor's shape.
    let swappedFeedForwardNames: Bool

    /// The checkpoint's name for a tower tensor given by its transformers name below the prefix.
    func name(_ relative: String) -> String {
        gguf ? Self.ggufName(relative, swapped: swappedFeedForwardNames) : prefix + relative
    }

    static func ggufName(_ relative: String, swapped: Bool) -> String {
        var name = relative
        for (from, to) in [
            ("embeddings.patch_embedding", "patch_embd"), ("embeddings.class_embedding", "class_embd"),
            ("embeddings.position_embedding", "position_embd"), ("pre_layrnorm", "pre_ln"), ("post_layernorm", "post_ln"),
            ("encoder.layers.", "blk."), ("layer_norm1", "ln1"), ("layer_norm2", "ln2"), ("self_attn.q_proj", "attn_q"),
            ("self_attn.k_proj", "attn_k"), ("self_attn.v_proj", "attn_v"), ("self_attn.out_proj", "attn_out"),
            ("mlp.fc1", swapped ? "ffn_down" : "ffn_up"), ("mlp.fc2", swapped ? "ffn_up" : "ffn_down"),
        ] {
            name = name.replacingFirst(from, with: to)
        }
        return "v." + name
    }

    /// - Parameter adapters: LoRA adapters whose module names are the checkpoint's own (PEFT on
    ///   the same transformers class), applied unmerged to the tower's linear layers.
    init(checkpoint: Checkpoint, model: String, adapters: [ScaledAdapter] = []) throws {
        let plan = adapters.isEmpty ? nil : try LoRAPlan(adapters: adapters, sameNamesAs: model) { checkpoint.tensor(named: $0)?.shape }
        if checkpoint.format == .gguf {
            gguf = true
            prefix = "v."
            let down = checkpoint.tensor(named: "v.blk.0.ffn_down.weight"), up = checkpoint.tensor(named: "v.blk.0.ffn_up.weight")
            swappedFeedForwardNames = down != nil && up != nil && down!.shape.first ?? 0 > up!.shape.first ?? 0
            binder = WeightBinder(checkpoint: checkpoint, model: model, adapters: plan)
            binder.ignorable = { !$0.hasPrefix("v.") }
            return
        }
        gguf = false
        swappedFeedForwardNames = false
        let suffix = "embeddings.patch_embedding.weight"
        let candidates = checkpoint.tensors.map(\.name).filter { $0.hasSuffix(suffix) }
            .map { String($0.dropLast(suffix.count)) }
            .filter { $0.isEmpty || $0.hasSuffix(".") }
        guard candidates.count <= 1 else {
            throw ModelError.unsupportedModel(modelType: model, reason: "the checkpoint holds several vision towers: " + candidates.joined(separator: ", "))
        }
        let prefix = candidates.first ?? ""
        self.prefix = prefix
        binder = WeightBinder(checkpoint: checkpoint, model: model, adapters: plan)
        binder.ignorable = { name in
            prefix.isEmpty ? name.hasPrefix("text_model.") || name == "logit_scale" || name == "logit_bias" || name == "text_projection.weight"
                : !name.hasPrefix(prefix)
        }
    }

    /// A LayerNorm `name.weight`, `name.bias` of the tower's width.
    func layerNorm(_ name: String, tower: VisionTower) -> Norm {
        Norm(kind: .layer, weight: binder.vector(name + ".weight", count: tower.hiddenSize),
             bias: binder.vector(name + ".bias", count: tower.hiddenSize), epsilon: Float(tower.normEpsilon))
    }

    func linear(_ name: String, rows: Int, columns: Int) -> Linear {
        var linear = Linear(weight: binder.matrix(name + ".weight", rows: rows, columns: columns), bias: binder.vector(name + ".bias", count: rows))
        binder.attachUpdates(of: name + ".weight", to: &linear)
        return linear
    }

    /// `encoder.layers.{i}.*`, identical in CLIP and SigLIP: pre-norm blocks of bidirectional
    /// attention and a plain MLP (`CLIPEncoderLayer`, `SiglipEncoderLayer`).
    func encoderLayers(_ tower: VisionTower) throws -> [TransformerBlock] {
        let hidden = tower.hiddenSize, feedForward = tower.feedForwardLength
        guard tower.headCount > 0, hidden % tower.headCount == 0 else {
            throw ModelError.unsupportedModel(modelType: binder.model, reason: "\(tower.headCount) heads do not divide hidden size \(hidden)")
        }
        let headSize = hidden / tower.headCount
        let shape = AttentionShape(heads: tower.headCount, kvHeads: tower.headCount, keySize: headSize, valueSize: headSize, causal: false)
        return (0..<tower.layerCount).map { index in
            let p = "encoder.layers.\(index)."
            let attention = SelfAttention(
                projections: .separate(query: linear(name(p + "self_attn.q_proj"), rows: hidden, columns: hidden),
                                       key: linear(name(p + "self_attn.k_proj"), rows: hidden, columns: hidden),
                                       value: linear(name(p + "self_attn.v_proj"), rows: hidden, columns: hidden)),
                output: linear(name(p + "self_attn.out_proj"), rows: hidden, columns: hidden), rotary: nil, shape: shape)
            return TransformerBlock(
                placement: .pre, attentionNorm: layerNorm(name(p + "layer_norm1"), tower: tower), attention: attention,
                feedForwardNorm: layerNorm(name(p + "layer_norm2"), tower: tower),
                feedForward: .plain(up: linear(name(p + "mlp.fc1"), rows: feedForward, columns: hidden),
                                    down: linear(name(p + "mlp.fc2"), rows: hidden, columns: feedForward), activation: tower.activation))
        }
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) {
                return String(self[..<index]) + replacement + String(self[self.index(index, offsetBy: target.count)...])
            }
            index = self.index(after: index)
        }
        return self
    }
}
