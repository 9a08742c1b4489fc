import WeightArchitecture

/// Llama (transformers' `LlamaForCausalLM`): RMSNorm, rotary positions (rotate-half), grouped
/// key/value heads, SwiGLU; optional attention and MLP biases (`attention_bias`, `mlp_bias`).
enum Llama: DecoderFamily {
    static let modelType = "llama"
    static let ggufArchitecture = "llama"

    static func validate(_ stack: TextStack) throws {
        guard stack.experts == nil else { throw ModelError.unsupportedModel(modelType: modelType, reason: "llama has no experts") }
        guard !stack.feedForwardBias else { throw ModelError.unsupportedModel(modelType: modelType, reason: "mlp_bias is not supported") }
        guard stack.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "hidden_act \(stack.activation.rawValue) is not supported")
        }
    }
}
