import WeightArchitecture
import WeightCompute

/// Multi-head self-attention with grouped key/value heads, as the families' attention modules
/// compute it:
///
///     q, k, v = q_proj(x), k_proj(x), v_proj(x)      (or one qkv_proj, rows q then k then v)
///     q, k    = q_norm(q), k_norm(k)                 (per head, Qwen3 and Gemma 3)
///     q, k    = rope(q), rope(k)                     (when the family has rotary positions)
///     out     = o_proj(softmax(cap(scale · q · kᵀ) + mask) · v)
///
/// Causal attention keeps keys and values in a `KVCacheLayer`; bidirectional attention
/// (encoders) attends over the tokens of each sequence at once.
struct SelfAttention {
    enum Projections {
        case separate(query: Linear, key: Linear, value: Linear)
        /// One `qkv_proj` (Phi-3).
        case fused(Linear)
    }

    var projections: Projections
    var output: Linear
    var queryNorm: Norm?, keyNorm: Norm?
    /// Rotary positions (nil for learned or sinusoidal positions added to the embeddings).
    var rotary: RotaryTable?
    var shape: AttentionShape

    var queryWidth: Int { shape.heads * shape.keySize }
    var keyWidth: Int { shape.kvHeads * shape.keySize }
    var valueWidth: Int { shape.kvHeads * shape.valueSize }

    /// q, k and v of `count` rows of `input` into the workspace, normed per head.
    private func project(_ input: UnsafePointer<Float>, count: Int, workspace w: Workspace, context: ComputeContext) {
        switch projections {
        case .separate(let query, let key, let value):
            Linear.apply([(query, w.query), (key, w.key), (value, w.value)], to: input, rows: count, context: context)
        case .fused(let qkv):
            let fused = w.fused!
            qkv.apply(input, rows: count, into: fused, context: context)
            let width = queryWidth + keyWidth + valueWidth
            for t in 0..<count {
                let row = fused + t * width
                (w.query + t * queryWidth).update(from: row, count: queryWidth)
                (w.key + t * keyWidth).update(from: row + queryWidth, count: keyWidth)
                (w.value + t * valueWidth).update(from: row + queryWidth + keyWidth, count: valueWidth)
            }
        }
        queryNorm?.apply(rows: count * shape.heads, w.query, into: w.query)
        keyNorm?.apply(rows: count * shape.kvHeads, w.key, into: w.key)
    }

    /// Causal attention of `count` tokens at positions `start ..< start + count` over the cache,
    /// which receives their keys and values; the projected output goes to `w.projected`.
    func forward(_ input: UnsafePointer<Float>, count: Int, start: Int, cache: KVCacheLayer, frequencies: [Float]?,
                 workspace w: Workspace, context: ComputeContext) {
        project(input, count: count, workspace: w, context: context)
        if let rotary, let frequencies {
            for t in 0..<count {
                rotary.apply(to: w.query + t * queryWidth, heads: shape.heads, headSize: shape.keySize, position: start + t, frequencies: frequencies)
                rotary.apply(to: w.key + t * keyWidth, heads: shape.kvHeads, headSize: shape.keySize, position: start + t, frequencies: frequencies)
            }
        }
        cache.store(keys: w.key, values: w.value, start: start, count: count)
        attention(queries: w.query, cache: cache, start: start, count: count, shape: shape, scores: w.scores, into: w.attended,
                  context: context)
        output.apply(w.attended, rows: count, into: w.projected, context: context)
    }

    /// Bidirectional attention within each of `batch` sequences of `tokens` rows; the projected
    /// output goes to `w.projected`.
    func forwardEncoder(_ input: UnsafePointer<Float>, batch: Int, tokens: Int, workspace w: Workspace, context: ComputeContext) {
        forwardEncoder(input, sequences: (0..<batch).map { $0 * tokens..<($0 + 1) * tokens }, workspace: w, context: context)
    }

    /// Bidirectional attention within each sequence, a sequence being a range of consecutive
    /// rows of `input` (texts of different lengths packed one after another): each row attends
    /// to the rows of its own sequence only, which is what an attention mask over padded
    /// sequences computes. The projected output goes to `w.projected`.
    /// Without `addingOutputBias` the caller adds `output.bias` (in a fused epilogue).
    func forwardEncoder(_ input: UnsafePointer<Float>, sequences: [Range<Int>], workspace w: Workspace, context: ComputeContext,
                        addingOutputBias: Bool = true) {
        let rows = sequences.last?.upperBound ?? 0
        project(input, count: rows, workspace: w, context: context)
        if sequences.count == 1, let sequence = sequences.first {
            // One sequence (an image's patches): its heads spread over the threads.
            bidirectionalAttention(
                queries: w.query + sequence.lowerBound * queryWidth, keys: w.key + sequence.lowerBound * keyWidth,
                values: w.value + sequence.lowerBound * valueWidth, queryCount: sequence.count, keyCount: sequence.count,
                shape: shape, scores: w.scores, into: w.attended + sequence.lowerBound * shape.heads * shape.valueSize,
                context: context)
        } else {
            packedBidirectionalAttention(queries: w.query, keys: w.key, values: w.value, sequences: sequences, shape: shape,
                                         into: w.attended, context: context)
        }
        output.apply(w.attended, rows: rows, into: w.projected, context: context, addingBias: addingOutputBias)
    }
}
