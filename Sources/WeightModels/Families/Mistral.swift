import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// `MistralForCausalLM`: Llama's block without biases, every layer attending through the
/// sliding window (`DecoderBuilder.block` gives sliding layers their window).
extension Mistral: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        guard t.experts == nil else { throw ModelError.unsupportedModel(modelType: name, reason: "mistral has no experts (mixtral does)") }
        guard !t.attentionBias, !t.feedForwardBias else {
            throw ModelError.unsupportedModel(modelType: name, reason: "MistralForCausalLM has no biases")
        }
        guard t.activation == .silu else {
            throw ModelError.unsupportedModel(modelType: name, reason: "hidden_act \(t.activation.rawValue) is not supported")
        }
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }
}
