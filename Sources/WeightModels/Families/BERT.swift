import WeightArchitecture
import WeightCompute
import WeightFormats

/// `BertModel` (transformers' modeling_bert.py): word, absolute position and token-type
/// embeddings summed and LayerNormed, post-norm blocks with biases everywhere, bidirectional
/// attention and exact GELU. The pooler (dense + tanh over the first token) is not part of the
/// hidden states sentence embeddings pool, so its tensors are bound and left unused.
extension BERT: EncoderModelBuilder {
    static func encoderModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext) throws -> EncoderModel {
        let t = try architecture.requireText()
        guard !t.causal, t.normPlacement == .post, t.norm == .layer, !t.gatedFeedForward, t.experts == nil, t.rotary == nil else {
            throw ModelError.unsupportedModel(modelType: name, reason: "BERT layers are bidirectional, post-norm LayerNorm blocks with a plain feed-forward")
        }
        guard case .learned = t.positions else {
            throw ModelError.unsupportedModel(modelType: name, reason: "BERT has learned absolute positions")
        }
        guard [.gelu, .relu, .geluTanh, .silu].contains(t.activation) else {
            throw ModelError.unsupportedModel(modelType: name, reason: "hidden_act \(t.activation.rawValue) is not supported")
        }
        let b = WeightBinder(checkpoint: checkpoint, schema: try schema(architecture), model: name, kernels: context.kernels)
        let word = b.matrix(TensorRole(.tokenEmbedding))
        let position = b.matrix(TensorRole(.positionEmbedding))
        let tokenType = t.tokenTypeCount.map { _ in b.matrix(TensorRole(.tokenTypeEmbedding)) }
        let embeddingNorm = b.norm(nil, .embeddingNorm, kind: .layer, epsilon: t.normEpsilon)
        let blocks = (0..<t.layerCount).map { DecoderBuilder.block($0, t, binder: b, rotary: (nil, nil)) }
        if b.has(TensorRole(.pooler)) {
            _ = b.matrix(TensorRole(.pooler))
            _ = b.vector(TensorRole(.pooler, .bias))
        }
        try b.finish()
        return EncoderModel(modelType: architecture.modelType, architecture: t, context: context, wordEmbedding: word,
                            positionEmbedding: position, tokenTypeEmbedding: tokenType, embeddingNorm: embeddingNorm, blocks: blocks)
    }
}
