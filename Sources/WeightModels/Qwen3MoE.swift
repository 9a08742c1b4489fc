import WeightArchitecture

/// Qwen3-MoE (transformers' `Qwen3MoeForCausalLM`): Qwen3 attention; the MLP is a router
/// (`mlp.gate`) choosing `num_experts_per_tok` of `num_experts` SwiGLU experts per token, with
/// the chosen softmax weights renormalised when `norm_topk_prob` is set. Layers listed in
/// `mlp_only_layers` (or skipped by `decoder_sparse_step`) keep a dense MLP.
enum Qwen3MoE: DecoderFamily {
    static let modelType = "qwen3_moe"
    static let ggufArchitecture = "qwen3moe"

    static func validate(_ stack: TextStack) throws {
        guard let experts = stack.experts else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "the configuration has no experts")
        }
        guard experts.usedExpertCount >= 1, experts.usedExpertCount <= experts.expertCount else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "num_experts_per_tok must be between 1 and num_experts")
        }
        guard stack.qkNorm, stack.activation == .silu, experts.sharedExpertLength == nil else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "unsupported block options")
        }
    }
}
