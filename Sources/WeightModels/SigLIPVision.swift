import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// SigLIP's vision tower, as transformers' `SiglipVisionModel` computes it
/// (transformers/models/siglip/modeling_siglip.py):
///
///     x = patch_embedding(pixels) + position_embedding      (no class token, conv with bias)
///     x = encoder(x); last_hidden_state = post_layernorm(x)
///     pooled = head(last_hidden_state)                      (multi-head attention pooling)
///
/// Checkpoints: `SiglipVisionModel` (keys with or without `vision_model.`) or a full
/// `SiglipModel` (the text half is ignored).
enum SigLIPVision {
    static func build(checkpoint: Checkpoint, tower: VisionTower, context: ComputeContext, adapters: [ScaledAdapter] = []) throws
        -> VisionTransformer {
        let binding = try VisionBinding(checkpoint: checkpoint, model: "siglip_vision_model", adapters: adapters)
        let b = binding.binder, p = binding.prefix, hidden = tower.hiddenSize
        let patchLength = tower.channels * tower.patchSize * tower.patchSize
        let patchView = b.tensor(p + "embeddings.patch_embedding.weight",
                                 shape: [hidden, tower.channels, tower.patchSize, tower.patchSize])
        let patchBias = b.vector(p + "embeddings.patch_embedding.bias", count: hidden)
        let positions = b.tensor(p + "embeddings.position_embedding.weight", shape: [tower.patchCount, hidden])
        let layers = try binding.encoderLayers(tower)
        let postNorm = binding.layerNorm(p + "post_layernorm", tower: tower)
        var pooling = VisionPooling.none
        if tower.poolingHead {
            let h = p + "head."
            let probe = b.tensor(h + "probe", shape: [1, 1, hidden])
            let inProjection = b.tensor(h + "attention.in_proj_weight", shape: [3 * hidden, hidden])
            let inBias = b.vector(h + "attention.in_proj_bias", count: 3 * hidden)
            if let probe, let inProjection, inBias.count == 3 * hidden {
                // nn.MultiheadAttention packs the q, k, v projections as rows of one matrix.
                let third = inProjection.byteCount / 3
                func part(_ i: Int) -> Linear {
                    Linear(weight: b.matrix(inProjection, rows: hidden, columns: hidden, offset: i * third),
                           bias: Array(inBias[(i * hidden)..<((i + 1) * hidden)]))
                }
                pooling = .attentionHead(AttentionPoolingHead(
                    probe: b.floats(probe), query: part(0), key: part(1), value: part(2),
                    output: binding.linear(h + "attention.out_proj", rows: hidden, columns: hidden),
                    norm: binding.layerNorm(h + "layernorm", tower: tower),
                    fc1: binding.linear(h + "mlp.fc1", rows: tower.feedForwardLength, columns: hidden),
                    fc2: binding.linear(h + "mlp.fc2", rows: hidden, columns: tower.feedForwardLength), heads: tower.headCount))
            }
        }
        let patchEmbedding = patchView.map { b.matrix($0, rows: hidden, columns: patchLength) } ?? WeightBinder.placeholder
        let positionTable = positions.map { b.floats($0) } ?? []
        try b.finish()
        return VisionTransformer(
            tower: tower, context: context, patchEmbedding: patchEmbedding, patchBias: patchBias, classEmbedding: nil,
            positionEmbedding: positionTable, preNorm: nil, layers: layers, postNorm: postNorm, pooling: pooling, projection: nil)
    }
}

/// SigLIP's `SiglipMultiheadAttentionPoolingHead`: a learned probe attends over all tokens
/// (`nn.MultiheadAttention`), then a residual MLP on its LayerNorm:
///
///     a = out_proj(attention(probe·Wq, x·Wk, x·Wv));  pooled = a + fc2(act(fc1(layernorm(a))))
struct AttentionPoolingHead {
    var probe: [Float]
    var query: Linear, key: Linear, value: Linear, output: Linear
    var norm: Norm
    var fc1: Linear, fc2: Linear
    var heads: Int

    /// Pools `[batch, tokens, hidden]` to `[batch, hidden]`.
    func pool(_ x: UnsafePointer<Float>, batch: Int, tokens: Int, activation: ActivationFunction, context: ComputeContext) -> [Float] {
        let hidden = probe.count, rows = batch * tokens
        let headSize = hidden / heads
        let shape = AttentionShape(heads: heads, kvHeads: heads, keySize: headSize, valueSize: headSize, causal: false)
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: rows * hidden)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: rows * hidden)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * hidden + tokens + fc1.outputSize)
        defer { keys.deallocate(); values.deallocate(); scratch.deallocate() }
        let queries = scratch, attended = scratch + hidden, projected = attended + hidden, normed = projected + hidden
        let scores = normed + hidden, intermediate = scores + tokens
        key.apply(x, rows: rows, into: keys, context: context)
        value.apply(x, rows: rows, into: values, context: context)
        query.apply(probe, rows: 1, into: queries, context: context)
        var pooled = [Float](repeating: 0, count: batch * hidden)
        for image in 0..<batch {
            bidirectionalAttention(
                queries: queries, keys: keys + image * tokens * hidden, values: values + image * tokens * hidden,
                queryCount: 1, keyCount: tokens, shape: shape, scores: scores, into: attended, context: context)
            output.apply(attended, rows: 1, into: projected, context: context)
            norm.apply(rows: 1, projected, into: normed)
            fc1.apply(normed, rows: 1, into: intermediate, context: context)
            activation.apply(intermediate, count: fc1.outputSize)
            fc2.apply(intermediate, rows: 1, into: normed, context: context)
            for i in 0..<hidden { pooled[image * hidden + i] = projected[i] + normed[i] }
        }
        return pooled
    }
}
