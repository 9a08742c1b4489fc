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
    static func build(checkpoint: Checkpoint, tower: VisionTower) throws -> VisionTransformer {
        let binding = try VisionBinding(checkpoint: checkpoint, model: "siglip_vision_model")
        let b = binding.binder, p = binding.prefix, hidden = tower.hiddenSize
        let patchLength = tower.channels * tower.patchSize * tower.patchSize
        let patchView = b.tensor(p + "embeddings.patch_embedding.weight",
                                 shape: [hidden, tower.channels, tower.patchSize, tower.patchSize])
        let patchBias = try b.vector(p + "embeddings.patch_embedding.bias", count: hidden)
        let positions = b.tensor(p + "embeddings.position_embedding.weight", shape: [tower.patchCount, hidden])
        let layers = try binding.encoderLayers(tower)
        let postNorm = try binding.layerNorm(p + "post_layernorm", size: hidden)
        var pooling = VisionPooling.none
        if tower.poolingHead {
            let h = p + "head."
            let probe = b.tensor(h + "probe", shape: [1, 1, hidden])
            let inProjection = b.tensor(h + "attention.in_proj_weight", shape: [3 * hidden, hidden])
            let inBias = try b.vector(h + "attention.in_proj_bias", count: 3 * hidden)
            let output = try binding.linear(h + "attention.out_proj", rows: hidden, columns: hidden)
            let norm = try binding.layerNorm(h + "layernorm", size: hidden)
            let fc1 = try binding.linear(h + "mlp.fc1", rows: tower.feedForwardLength, columns: hidden)
            let fc2 = try binding.linear(h + "mlp.fc2", rows: hidden, columns: tower.feedForwardLength)
            if let probe, let inProjection, let inBias, let output, let norm, let fc1, let fc2 {
                // nn.MultiheadAttention packs the q, k, v projections as rows of one matrix.
                let third = inProjection.byteCount / 3
                func part(_ i: Int) throws -> Linear {
                    Linear(weight: try WeightBinder.matrix(inProjection, rows: hidden, columns: hidden, offset: i * third),
                           bias: Array(inBias[(i * hidden)..<((i + 1) * hidden)]))
                }
                pooling = .attentionHead(AttentionPoolingHead(
                    probe: try probe.floats(), query: try part(0), key: try part(1), value: try part(2), output: output,
                    norm: norm, fc1: fc1, fc2: fc2, heads: tower.headCount))
            }
        }
        try b.finish()
        return VisionTransformer(
            tower: tower, patchEmbedding: try WeightBinder.matrix(patchView!, rows: hidden, columns: patchLength),
            patchBias: patchBias!, classEmbedding: nil, positionEmbedding: try positions!.floats(), preNorm: nil,
            layers: layers, postNorm: postNorm, pooling: pooling, projection: nil)
    }
}

/// SigLIP's `SiglipMultiheadAttentionPoolingHead`: a learned probe attends over all tokens
/// (`nn.MultiheadAttention`), then a residual MLP on its LayerNorm:
///
///     a = out_proj(attention(probe·Wq, x·Wk, x·Wv));  pooled = a + fc2(act(fc1(layernorm(a))))
struct AttentionPoolingHead {
    var probe: [Float]
    var query: Linear, key: Linear, value: Linear, output: Linear
    var norm: LayerNormWeights
    var fc1: Linear, fc2: Linear
    var heads: Int

    /// Pools `[batch, tokens, hidden]` to `[batch, hidden]`.
    func pool(_ x: UnsafePointer<Float>, batch: Int, tokens: Int, activation: ActivationFunction, epsilon: Float,
              threads: Int) -> [Float] {
        let hidden = probe.count, rows = batch * tokens
        let headSize = hidden / heads
        let shape = AttentionShape(heads: heads, kvHeads: heads, keySize: headSize, valueSize: headSize, causal: false)
        let keys = UnsafeMutablePointer<Float>.allocate(capacity: rows * hidden)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: rows * hidden)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * hidden + tokens + fc1.outputSize)
        defer { keys.deallocate(); values.deallocate(); scratch.deallocate() }
        let queries = scratch, attended = scratch + hidden, projected = attended + hidden, normed = projected + hidden
        let scores = normed + hidden, intermediate = scores + tokens
        key.apply(x, rows: rows, into: keys, threads: threads)
        value.apply(x, rows: rows, into: values, threads: threads)
        query.apply(probe, rows: 1, into: queries, threads: threads)
        var pooled = [Float](repeating: 0, count: batch * hidden)
        for image in 0..<batch {
            bidirectionalAttention(
                queries: queries, keys: keys + image * tokens * hidden, values: values + image * tokens * hidden,
                queryCount: 1, keyCount: tokens, shape: shape, scores: scores, into: attended, threads: 1)
            output.apply(attended, rows: 1, into: projected, threads: threads)
            norm.apply(rows: 1, projected, epsilon: epsilon, into: normed)
            fc1.apply(normed, rows: 1, into: intermediate, threads: threads)
            activation.apply(intermediate, count: fc1.outputSize)
            fc2.apply(intermediate, rows: 1, into: normed, threads: threads)
            for i in 0..<hidden { pooled[image * hidden + i] = projected[i] + normed[i] }
        }
        return pooled
    }
}
