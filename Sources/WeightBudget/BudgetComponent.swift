/// The parts of a model a parameter count is broken into.
public enum BudgetComponent: String, CaseIterable, Sendable, Hashable {
    /// Token embeddings, learned position and token-type embeddings.
    case embedding
    /// Query, key, value and output projections with their biases.
    case attention
    /// Dense feed-forward blocks.
    case mlp
    /// The experts of mixture-of-experts blocks (routed and shared).
    case experts
    /// The routers (gates) of mixture-of-experts blocks.
    case router
    /// Every normalisation layer (including per-head query/key norms).
    case norms
    /// The language-model head (or BERT's pooler) when it is not the embedding matrix.
    case outputHead = "output_head"
    /// The extra prediction heads of Meta's multi-token prediction models.
    case mtpHeads = "mtp_heads"
    /// A vision encoder.
    case visionTower = "vision_tower"
    /// The projector from vision features into the language model.
    case projector
    /// CLIP's and SigLIP's projections and logit parameters.
    case contrastiveHeads = "contrastive_heads"
    /// Tensors no other component claims.
    case other

    /// The name used in JSON and tables.
    public var name: String { rawValue }
}

/// The linear layers LoRA can adapt, by the short names `--lora-targets` takes.
public enum LinearRole: String, CaseIterable, Sendable, Hashable {
    case q, k, v, o, gate, up, down
}
