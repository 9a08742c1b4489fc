import WeightArchitecture

/// Qwen3 (transformers' `Qwen3ForCausalLM`): the Llama block with an RMSNorm over every query
/// and key head before the rotary embedding (`q_norm`, `k_norm`) and a `head_dim` independent
/// of hidden_size / heads.
enum Qwen3: DecoderFamily {
    static let modelType = "qwen3"
    static let ggufArchitecture = "qwen3"

    static func validate(_ stack: TextStack) throws {
        guard stack.qkNorm, stack.experts == nil, stack.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "qwen3 layers have q/k norms and SwiGLU")
        }
    }
}
