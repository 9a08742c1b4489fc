import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

// The Gemma builders. Both compose the shared decoder parts: pre-norm blocks with a norm on
// each sublayer's output, `1 + w` folded into the Hugging Face norms when they are bound,
// GeGLU, the description's attention scale, window and soft caps.

/// `Gemma2ForCausalLM` (transformers' modeling_gemma2.py): scores `q · kᵀ · scale`, soft-capped
/// `cap · tanh(s / cap)`, then masked (causal, and on the even layers to the last
/// `sliding_window` positions including the token itself), softmax; logits soft-capped.
extension Gemma2: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        try GemmaBuilder.requireSupported(try architecture.requireText(), modelType: name)
        let scaled = try GemmaBuilder.withStoredEmbeddingScale(architecture, family: self, checkpoint: checkpoint)
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: scaled, context: context, adapters: adapters)
    }
}

/// `Gemma3ForCausalLM` (modeling_gemma3.py): Gemma 2's block with `1 + w` RMSNorms over each
/// query and key head before the rotation, no attention soft cap, the local layers' own rotary
/// table (`slidingRotary`) and the global layers' scaled one.
extension Gemma3Text: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        let t = try architecture.requireText()
        try GemmaBuilder.requireSupported(t, modelType: name)
        guard t.qkNorm else { throw ModelError.unsupportedModel(modelType: name, reason: "gemma3 layers have q/k norms") }
        let scaled = try GemmaBuilder.withStoredEmbeddingScale(architecture, family: self, checkpoint: checkpoint)
        return try DecoderBuilder.build(self, checkpoint: checkpoint, architecture: scaled, context: context, adapters: adapters)
    }
}

enum GemmaBuilder {
    /// Refuses what transformers' Gemma decoders do not have, or what WeightKit does not run.
    static func requireSupported(_ t: TextStack, modelType: String) throws {
        guard t.causal else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "use_bidirectional_attention is not supported")
        }
        guard t.experts == nil, t.gatedFeedForward, t.norm == .rms, t.sublayerOutputNorms, !t.fusedQKV, !t.fusedGateUp else {
            throw ModelError.unsupportedModel(modelType: modelType, reason: "Gemma blocks are RMSNorm, GeGLU and separate projections")
        }
    }

    /// The description with the embedding scale the reference applies: transformers multiplies
    /// by `embed_scale.to(weight.dtype)`, so a bfloat16 or float16 Hugging Face checkpoint scales
    /// by √hidden rounded to that type (√3584 = 59.87 becomes 59.75 in bfloat16); llama.cpp
    /// scales by the float32 `sqrtf(n_embd)` whatever the weights' type.
    static func withStoredEmbeddingScale(_ architecture: ModelArchitecture, family: any ModelFamily.Type,
                                         checkpoint: Checkpoint) throws -> ModelArchitecture {
        guard checkpoint.format != .gguf, let scale = architecture.text?.embeddingScale,
              let name = try family.schema(architecture)[TensorRole(.tokenEmbedding)]?.huggingFaceName,
              let dtype = checkpoint.tensor(named: name)?.dtype.ggmlType else { return architecture }
        var copy = architecture
        switch dtype {
        case .bf16: copy.text?.embeddingScale = Double(roundedToBFloat16(Float(scale)))
        case .f16: copy.text?.embeddingScale = Double(Float(Float16(Float(scale))))
        default: break
        }
        return copy
    }

    /// `x` rounded to the nearest bfloat16 (ties to even), as torch's `.to(torch.bfloat16)`.
    static func roundedToBFloat16(_ x: Float) -> Float {
        guard x.isFinite else { return x }
        let bits = x.bitPattern
        let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000
        return Float(bitPattern: rounded)
    }
}
