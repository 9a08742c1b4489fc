import WeightArchitecture
import WeightCompute

/// One transformer block: attention and feed-forward, each with its residual, normed before
/// (pre-norm: Llama, Qwen, Gemma, ViT) or after the residual sum (post-norm: BERT):
///
///     pre-norm:   h = x + post_attn(attention(attn_norm(x)));  y = h + post_ffn(ffn(ffn_norm(h)))
///     post-norm:  h = attn_norm(x + attention(x));            y = ffn_norm(h + ffn(h))
///
/// `post_attn` and `post_ffn` are Gemma 2/3's norms of the sublayer outputs (absent elsewhere).
struct TransformerBlock {
    var placement: NormPlacement
    var attentionNorm: Norm
    var attention: SelfAttention
    var postAttentionNorm: Norm?
    var feedForwardNorm: Norm
    var feedForward: FeedForward
    var postFeedForwardNorm: Norm?

    /// Runs `count` tokens at positions `start ...` through the block, in place in `x`.
    func forward(_ x: UnsafeMutablePointer<Float>, tokens count: Int, start: Int, cache: KVCacheLayer, frequencies: [Float]?,
                 workspace w: Workspace, context: ComputeContext) {
        let hidden = attentionNorm.width
        switch placement {
        case .pre:
            attentionNorm.apply(rows: count, x, into: w.normed)
            attention.forward(w.normed, count: count, start: start, cache: cache, frequencies: frequencies, workspace: w, context: context)
            postAttentionNorm?.apply(rows: count, w.projected, into: w.projected)
            addInPlace(x, w.projected, count * hidden)
            feedForwardNorm.apply(rows: count, x, into: w.normed)
            feedForward.forward(w.normed, rows: count, workspace: w, into: w.projected, context: context)
            postFeedForwardNorm?.apply(rows: count, w.projected, into: w.projected)
            addInPlace(x, w.projected, count * hidden)
        case .post:
            attention.forward(x, count: count, start: start, cache: cache, frequencies: frequencies, workspace: w, context: context)
            addInPlace(x, w.projected, count * hidden)
            attentionNorm.apply(rows: count, x, into: x)
            feedForward.forward(x, rows: count, workspace: w, into: w.projected, context: context)
            addInPlace(x, w.projected, count * hidden)
            feedForwardNorm.apply(rows: count, x, into: x)
        }
    }

    /// The encoder form: `batch` sequences of `tokens` rows attending within each sequence.
    func forwardEncoder(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens: Int, workspace w: Workspace, context: ComputeContext) {
        forwardEncoder(x, sequences: (0..<batch).map { $0 * tokens..<($0 + 1) * tokens }, workspace: w, context: context)
    }

    /// The encoder form over packed sequences of any lengths (`SelfAttention.forwardEncoder`).
    func forwardEncoder(_ x: UnsafeMutablePointer<Float>, sequences: [Range<Int>], workspace w: Workspace, context: ComputeContext) {
        let hidden = attentionNorm.width, rows = sequences.last?.upperBound ?? 0
        switch placement {
        case .pre:
            attentionNorm.apply(rows: rows, x, into: w.normed)
            attention.forwardEncoder(w.normed, sequences: sequences, workspace: w, context: context)
            postAttentionNorm?.apply(rows: rows, w.projected, into: w.projected)
            addInPlace(x, w.projected, rows * hidden)
            feedForwardNorm.apply(rows: rows, x, into: w.normed)
            feedForward.forward(w.normed, rows: rows, workspace: w, into: w.projected, context: context)
            postFeedForwardNorm?.apply(rows: rows, w.projected, into: w.projected)
            addInPlace(x, w.projected, rows * hidden)
        case .post where attentionNorm.kind == .layer && feedForwardNorm.kind == .layer:
            // Each sublayer's output bias, the residual sum and the LayerNorm in one pass.
            attention.forwardEncoder(x, sequences: sequences, workspace: w, context: context, addingOutputBias: false)
            attentionNorm.applyResidual(rows: rows, x, adding: w.projected, addBias: attention.output.bias, context: context)
            feedForward.forward(x, rows: rows, workspace: w, into: w.projected, context: context, addingOutputBias: false)
            feedForwardNorm.applyResidual(rows: rows, x, adding: w.projected, addBias: feedForward.outputBias, context: context)
        case .post:
            attention.forwardEncoder(x, sequences: sequences, workspace: w, context: context)
            addInPlace(x, w.projected, rows * hidden)
            attentionNorm.apply(rows: rows, x, into: x)
            feedForward.forward(x, rows: rows, workspace: w, into: w.projected, context: context)
            addInPlace(x, w.projected, rows * hidden)
            feedForwardNorm.apply(rows: rows, x, into: x)
        }
    }
}

extension Norm {
    /// A LayerNorm of residual sums in place: `x[r] = norm(x[r] + (add[r] + addBias))` (nil
    /// `add`: the rows of x alone), rows spread over the context's threads.
    func applyResidual(rows: Int, _ x: UnsafeMutablePointer<Float>, adding add: UnsafePointer<Float>?, addBias: [Float]?,
                       context: ComputeContext) {
        precondition(kind == .layer, "a fused residual norm is a LayerNorm")
        addLayerNorm(rows: rows, x, adding: add, addBias: addBias, weight: weight, bias: bias, epsilon: epsilon, context: context)
    }
}
