import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// `Phi3ForCausalLM`: one `qkv_proj` split into q, k and v rows, one `gate_up_proj` whose first
/// half gates the second (`SelfAttention.Projections.fused`, `FeedForward.fusedGated`), partial
/// rotary and longrope through the shared rotary table, the sliding window on every layer.
extension Phi3: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard t.fusedQKV, t.fusedGateUp, t.gatedFeedForward else {
            throw ModelError.unsupportedModel(modelType: name, reason: "Phi-3 layers have a fused qkv_proj and gate_up_proj")
        }
        guard t.experts == nil else { throw ModelError.unsupportedModel(modelType: name, reason: "phi3 has no experts (phimoe does)") }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}
