import WeightArchitecture
import WeightCompute
import WeightFormats

/// What a decoder family adds to the shared decoder, and which options it refuses.
protocol DecoderFamily: Sendable {
    /// `model_type` (Hugging Face) this family handles.
    static var modelType: String { get }
    /// llama.cpp's `general.architecture` for the family.
    static var ggufArchitecture: String { get }
    /// Throws for configurations the family's reference implementation does not have.
    static func validate(_ stack: TextStack) throws
}

/// Binds a checkpoint's tensors (Hugging Face or llama.cpp names) to a `DecoderModel`.
enum DecoderBuilder {
    static func build(_ family: DecoderFamily.Type, checkpoint: Checkpoint, architecture: ModelArchitecture,
                      kernels: Kernels = .best) throws -> DecoderModel {
        guard let stack = architecture.text else {
            throw ModelError.unsupportedModel(modelType: family.modelType, reason: "the configuration describes no language model")
        }
        try family.validate(stack)
        let names = TensorNaming(gguf: checkpoint.format == .gguf)
        let binder = WeightBinder(checkpoint: checkpoint, model: family.modelType, kernels: kernels)
        binder.ignorable = { $0.hasSuffix("rotary_emb.inv_freq") }
        let hidden = stack.hiddenSize, heads = stack.headCount
        let queryWidth = heads * stack.keyLength

        let embedding = try binder.matrix(names["model.embed_tokens.weight"], rows: stack.vocabularySize, columns: hidden)
        var layers: [DecoderLayer] = []
        for index in 0..<stack.layerCount {
            let prefix = "model.layers.\(index)."
            func name(_ suffix: String) -> String { names[prefix + suffix] }
            let kvHeads = stack.kvHeads(layer: index)
            let keyWidth = kvHeads * stack.keyLength, valueWidth = kvHeads * stack.valueLength
            let query = try binder.matrix(name("self_attn.q_proj.weight"), rows: queryWidth, columns: hidden)
            let key = try binder.matrix(name("self_attn.k_proj.weight"), rows: keyWidth, columns: hidden)
            let value = try binder.matrix(name("self_attn.v_proj.weight"), rows: valueWidth, columns: hidden)
            let output = try binder.matrix(name("self_attn.o_proj.weight"), rows: hidden, columns: heads * stack.valueLength)
            let attentionNorm = try binder.vector(name("input_layernorm.weight"), count: hidden)
            let feedForwardNorm = try binder.vector(name("post_attention_layernorm.weight"), count: hidden)
            var layer: DecoderLayer?
            let feedForward = try bindFeedForward(stack: stack, layer: index, names: names, binder: binder)
            if let query, let key, let value, let output, let attentionNorm, let feedForwardNorm, let feedForward {
                layer = DecoderLayer(
                    attentionNorm: attentionNorm, query: query, key: key, value: value, output: output,
                    feedForwardNorm: feedForwardNorm, feedForward: feedForward)
            }
            if stack.attentionBias {
                layer?.queryBias = try binder.vector(name("self_attn.q_proj.bias"), count: queryWidth)
                layer?.keyBias = try binder.vector(name("self_attn.k_proj.bias"), count: keyWidth)
                layer?.valueBias = try binder.vector(name("self_attn.v_proj.bias"), count: valueWidth)
            }
            if stack.attentionOutputBias { layer?.outputBias = try binder.vector(name("self_attn.o_proj.bias"), count: hidden) }
            if stack.qkNorm {
                layer?.queryNorm = try binder.vector(name("self_attn.q_norm.weight"), count: stack.keyLength)
                layer?.keyNorm = try binder.vector(name("self_attn.k_norm.weight"), count: stack.keyLength)
            }
            if let layer { layers.append(layer) }
        }
        let finalNorm = try binder.vector(names["model.norm.weight"], count: hidden)
        // llama.cpp writes frequency-dependent rope scaling (llama3) as per-frequency divisors.
        var frequencyFactors: [Float]?
        if names.gguf, binder.has("rope_freqs.weight"), let rotary = stack.rotary {
            frequencyFactors = try binder.vector("rope_freqs.weight", count: rotary.dimensions / 2)
        }
        // Tied embeddings: no lm_head, the output head reads the embedding matrix. A checkpoint
        // that says "tied" but carries an lm_head anyway is bound to its lm_head.
        var outputHead = embedding
        let headName = names["lm_head.weight"]
        if !stack.tiedEmbeddings || binder.has(headName) {
            outputHead = try binder.matrix(headName, rows: stack.vocabularySize, columns: hidden)
        }
        try binder.finish()

        // llama.cpp stores Llama's q and k rows permuted so that its adjacent-pair rotary kernel
        // reproduces rotate-half; rotating adjacent pairs of the permuted rows gives the same
        // attention scores, so the permutation is undone by the rotary layout, without copying.
        let layout: RotaryTable.Layout = checkpoint.format == .gguf && family.modelType == "llama" ? .interleaved : .halves
        return DecoderModel(
            modelType: family.modelType, architecture: stack, embedding: embedding!, layers: layers, finalNorm: finalNorm!,
            outputHead: outputHead!, rotary: try rotaryTable(stack, layout: layout, frequencyFactors: frequencyFactors))
    }

    static func bindFeedForward(stack: TextStack, layer index: Int, names: TensorNaming, binder: WeightBinder) throws -> FeedForward? {
        let prefix = "model.layers.\(index)."
        let hidden = stack.hiddenSize
        guard stack.isSparse(layer: index), let experts = stack.experts else {
            let size = stack.feedForwardLength
            let gate = try binder.matrix(names[prefix + "mlp.gate_proj.weight"], rows: size, columns: hidden)
            let up = try binder.matrix(names[prefix + "mlp.up_proj.weight"], rows: size, columns: hidden)
            let down = try binder.matrix(names[prefix + "mlp.down_proj.weight"], rows: hidden, columns: size)
            guard let gate, let up, let down else { return nil }
            return .gated(GatedMLP(gate: gate, up: up, down: down))
        }
        let count = experts.expertCount, size = experts.feedForwardLength
        let router = try binder.matrix(names[prefix + "mlp.gate.weight"], rows: count, columns: hidden)
        var mlps: [GatedMLP] = []
        if names.gguf {
            // llama.cpp stacks experts: ffn_gate_exps/ffn_up_exps [E, I, H], ffn_down_exps [E, H, I].
            let gate = binder.tensor("blk.\(index).ffn_gate_exps.weight", shape: [count, size, hidden])
            let up = binder.tensor("blk.\(index).ffn_up_exps.weight", shape: [count, size, hidden])
            let down = binder.tensor("blk.\(index).ffn_down_exps.weight", shape: [count, hidden, size])
            guard let gate, let up, let down else { return nil }
            for e in 0..<count {
                mlps.append(GatedMLP(
                    gate: try WeightBinder.matrix(gate, rows: size, columns: hidden, offset: e * gate.byteCount / count, kernels: binder.kernels),
                    up: try WeightBinder.matrix(up, rows: size, columns: hidden, offset: e * up.byteCount / count, kernels: binder.kernels),
                    down: try WeightBinder.matrix(down, rows: hidden, columns: size, offset: e * down.byteCount / count, kernels: binder.kernels)))
            }
        } else if binder.has(prefix + "mlp.experts.gate_up_proj") {
            // transformers 5.x packs experts: gate_up_proj [E, 2I, H] (gate rows first), down_proj [E, H, I].
            let gateUp = binder.tensor(prefix + "mlp.experts.gate_up_proj", shape: [count, 2 * size, hidden])
            let down = binder.tensor(prefix + "mlp.experts.down_proj", shape: [count, hidden, size])
            guard let gateUp, let down else { return nil }
            let half = gateUp.byteCount / count / 2
            for e in 0..<count {
                mlps.append(GatedMLP(
                    gate: try WeightBinder.matrix(gateUp, rows: size, columns: hidden, offset: 2 * e * half, kernels: binder.kernels),
                    up: try WeightBinder.matrix(gateUp, rows: size, columns: hidden, offset: 2 * e * half + half, kernels: binder.kernels),
                    down: try WeightBinder.matrix(down, rows: hidden, columns: size, offset: e * down.byteCount / count, kernels: binder.kernels)))
            }
        } else {
            // transformers 4.x: one set of projections per expert.
            for e in 0..<count {
                let expert = prefix + "mlp.experts.\(e)."
                let gate = try binder.matrix(expert + "gate_proj.weight", rows: size, columns: hidden)
                let up = try binder.matrix(expert + "up_proj.weight", rows: size, columns: hidden)
                let down = try binder.matrix(expert + "down_proj.weight", rows: hidden, columns: size)
                guard let gate, let up, let down else { continue }
                mlps.append(GatedMLP(gate: gate, up: up, down: down))
            }
        }
        guard let router, mlps.count == count else { return nil }
        return .experts(router: router, experts: mlps, used: experts.usedExpertCount, normalize: experts.normalizeTopK)
    }

    static func rotaryTable(_ stack: TextStack, layout: RotaryTable.Layout, frequencyFactors: [Float]? = nil) throws -> RotaryTable {
        guard let rotary = stack.rotary else {
            throw ModelError.unsupportedModel(modelType: "decoder", reason: "rotary position embeddings are required")
        }
        var scaling = RotaryTable.Scaling.none
        if let frequencyFactors {
            scaling = .frequencyFactors(frequencyFactors)
        } else if let s = rotary.scaling {
            let original = s.originalContextLength ?? stack.contextLength
            switch s.type {
            case "linear": scaling = .linear(factor: Float(s.factor))
            case "dynamic": scaling = .dynamic(factor: Float(s.factor), originalContext: original)
            case "llama3":
                scaling = .llama3(factor: Float(s.factor), lowFrequencyFactor: Float(s.parameters["low_freq_factor"] ?? 1),
                                  highFrequencyFactor: Float(s.parameters["high_freq_factor"] ?? 4), originalContext: original)
            case "yarn":
                scaling = .yarn(factor: Float(s.factor), originalContext: original,
                                betaFast: Float(s.parameters["beta_fast"] ?? 32), betaSlow: Float(s.parameters["beta_slow"] ?? 1),
                                attentionFactor: s.parameters["attention_factor"].map(Float.init))
            default:
                throw ModelError.unsupportedModel(modelType: "decoder", reason: "rope scaling '\(s.type)' is not implemented")
            }
        }
        let mappedLayout: RotaryTable.Layout = rotary.layout == .interleaved ? .interleaved : layout
        return RotaryTable(dimensions: rotary.dimensions, base: Float(rotary.theta), layout: mappedLayout, scaling: scaling)
    }
}

/// Hugging Face names, translated to llama.cpp's for GGUF checkpoints.
struct TensorNaming {
    let gguf: Bool

    subscript(huggingFace: String) -> String {
        guard gguf else { return huggingFace }
        if case .tensor(let name) = TensorNames.ggufPlacement(forHuggingFace: huggingFace) { return name }
        return huggingFace
    }
}
