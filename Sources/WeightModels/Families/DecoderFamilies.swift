import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

// The decoder families' builders. Each says what its transformers reference has, refuses what
// it does not, and composes the shared parts (DecoderBuilder) from its schema.

/// `LlamaForCausalLM`: rotary attention with grouped KV heads and optional biases, SwiGLU.
extension Llama: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard t.experts == nil else { throw ModelError.unsupportedModel(modelType: name, reason: "llama has no experts") }
        guard !t.feedForwardBias else { throw ModelError.unsupportedModel(modelType: name, reason: "mlp_bias is not supported") }
        guard t.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: name, reason: "hidden_act \(t.activation.rawValue) is not supported")
        }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}

/// `Qwen2ForCausalLM`: the Llama block with q/k/v biases.
extension Qwen2: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard t.experts == nil, t.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: name, reason: "only SwiGLU blocks are defined for qwen2")
        }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}

/// `Qwen3ForCausalLM`: the Llama block with per-head RMSNorms on q and k before the rotation.
extension Qwen3: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard t.qkNorm, t.experts == nil, t.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: name, reason: "qwen3 layers have q/k norms and SwiGLU")
        }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}

/// `Qwen3MoeForCausalLM`: Qwen3 attention; routed SwiGLU experts (dense MLPs where configured).
extension Qwen3MoE: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard let experts = t.experts else {
            throw ModelError.unsupportedModel(modelType: name, reason: "the configuration has no experts")
        }
        guard experts.usedExpertCount >= 1, experts.usedExpertCount <= experts.expertCount else {
            throw ModelError.unsupportedModel(modelType: name, reason: "num_experts_per_tok must be between 1 and num_experts")
        }
        guard t.qkNorm, t.activation == .silu, experts.sharedExpertLength == nil else {
            throw ModelError.unsupportedModel(modelType: name, reason: "unsupported block options")
        }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}

/// seed 002's expert LM: pre-LN blocks with biases, a plain GELU feed-forward, sinusoidal
/// positions added to the embeddings. A checkpoint may carry the table as the buffer
/// `positional_encoding.pe`; it must then match the computed one.
extension ExpertLM: LanguageModelBuilder {
    /// The largest difference allowed between a stored positional table and the computed one
    /// (float32 sines of large arguments differ from exact ones by up to a few 1e-5).
    static let positionTolerance: Float = 1e-3

    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let model = try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
        let t = model.architecture
        if let stored = checkpoint.tensor(named: "positional_encoding.pe") {
            guard stored.shape == [1, t.contextLength, t.hiddenSize] else {
                throw ModelError.binding(model: name, missing: [], unexpected: [],
                                         misshaped: ["positional_encoding.pe \(stored.shape), expected [1, \(t.contextLength), \(t.hiddenSize)]"])
            }
            let values = try stored.floats()
            let worst = zip(values, model.positionTable ?? []).map { abs($0 - $1) }.max() ?? 0
            guard worst <= positionTolerance else {
                throw ModelError.invalidArgument(
                    "positional_encoding.pe differs from the sinusoidal table by up to \(worst) (allowed \(positionTolerance)): not an expert_lm positional table")
            }
        }
        return model
    }
}
