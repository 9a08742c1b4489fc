import WeightArchitecture

/// Qwen2 (transformers' `Qwen2ForCausalLM`): the Llama block with biases on the q, k and v
/// projections (none on o), often tied embeddings (Qwen2.5-0.5B).
enum Qwen2: DecoderFamily {
    static let modelType = "qwen2"
    static let ggufArchitecture = "qwen2"

    static func validate(_ stack: TextStack) throws {
        guard stack.experts == nil, stack.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "only SwiGLU blocks are defined for qwen2")
        }
    }
}
