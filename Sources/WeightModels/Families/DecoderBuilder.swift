import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// A family that WeightModels runs as a causal language model. Each runnable family's builder
/// file extends its descriptor (from WeightArchitecture) with this; `ModelRegistry` finds it by
/// asking the registered family whether it conforms.
protocol LanguageModelBuilder: ModelFamily {
    /// Builds the model, refusing options the family's reference implementation does not have.
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel
}

extension LanguageModelBuilder {
    /// The model without adapters.
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext) throws
        -> CausalLanguageModel {
        try languageModel(checkpoint: checkpoint, architecture: architecture, context: context, adapters: [])
    }
}

/// Composes a `DecoderModel` from a family's schema and description: the shared layer parts
/// (norms, attention, feed-forward, blocks), bound by role so that every family's names come
/// from its descriptor.
enum DecoderBuilder {
    static func build(_ family: any ModelFamily.Type, checkpoint: Checkpoint, architecture: ModelArchitecture,
                      context: ComputeContext, adapters: [ScaledAdapter] = []) throws -> DecoderModel {
        guard let t = architecture.text else {
            throw ModelError.unsupportedModel(modelType: family.name, reason: "the configuration describes no language model")
        }
        let schema = try family.schema(architecture)
        let b = WeightBinder(checkpoint: checkpoint, schema: schema, model: family.name, kernels: context.kernels,
                             adapters: try adapterPlan(adapters, schema: schema, checkpoint: checkpoint, model: family.name))
        let embedding = b.matrix(TensorRole(.tokenEmbedding))
        let embeddingUpdates = b.lookupUpdates(TensorRole(.tokenEmbedding))
        let rotary = try rotaryTables(t, schema: schema, binder: b)
        let blocks = (0..<t.layerCount).map { block($0, t, binder: b, rotary: rotary) }
        let finalNorm = b.norm(nil, .finalNorm, kind: t.norm, epsilon: t.normEpsilon, unitOffset: t.unitOffsetNorms)
        // Tied embeddings: no lm_head, the output head reads the embedding matrix. A checkpoint
        // that says "tied" but carries an lm_head anyway is bound to its lm_head.
        let head = t.tiedEmbeddings && !b.has(TensorRole(.outputHead)) && !b.isReplaced(TensorRole(.outputHead))
            ? Linear(weight: embedding, bias: nil) : b.linear(nil, .outputHead, bias: t.outputBias)
        var positions: [Float]?
        if case .sinusoidal = t.positions { positions = sinusoidalTable(positions: t.contextLength, size: t.hiddenSize) }
        try b.finish()
        return DecoderModel(
            modelType: architecture.modelType, architecture: t, context: context, embedding: embedding,
            embeddingUpdates: embeddingUpdates, embeddingScale: t.embeddingScale.map(Float.init), positionTable: positions, blocks: blocks, finalNorm: finalNorm,
            outputHead: head, logitSoftCap: t.finalLogitSoftCap.map(Float.init))
    }

    /// The adapters matched to `checkpoint`'s tensors; nil without adapters.
    static func adapterPlan(_ adapters: [ScaledAdapter], schema: TensorSchema, checkpoint: Checkpoint, model: String) throws -> LoRAPlan? {
        guard !adapters.isEmpty else { return nil }
        return try LoRAPlan(adapters: adapters, schema: schema, baseIsGGUF: checkpoint.format == .gguf, model: model) {
            checkpoint.tensor(named: $0)?.shape
        }
    }

    /// Block `layer`: the description's flags pick each part.
    static func block(_ layer: Int, _ t: TextStack, binder b: WeightBinder, rotary: (full: RotaryTable?, sliding: RotaryTable?)) -> TransformerBlock {
        func norm(_ part: TensorRole.Part, kind: NormKind? = nil) -> Norm {
            b.norm(layer, part, kind: kind ?? t.norm, epsilon: t.normEpsilon, unitOffset: t.unitOffsetNorms)
        }
        let sliding = t.span(layer: layer) == .sliding
        let projections: SelfAttention.Projections = t.fusedQKV
            ? .fused(b.linear(layer, .qkv, bias: t.attentionBias))
            : .separate(query: b.linear(layer, .query, bias: t.attentionBias), key: b.linear(layer, .key, bias: t.attentionBias),
                        value: b.linear(layer, .value, bias: t.attentionBias))
        let attention = SelfAttention(
            projections: projections, output: b.linear(layer, .attentionOutput, bias: t.attentionOutputBias),
            queryNorm: t.qkNorm ? norm(.queryNorm, kind: .rms) : nil, keyNorm: t.qkNorm ? norm(.keyNorm, kind: .rms) : nil,
            rotary: sliding ? rotary.sliding ?? rotary.full : rotary.full,
            shape: AttentionShape(
                heads: t.headCount, kvHeads: t.kvHeads(layer: layer), keySize: t.keyLength, valueSize: t.valueLength,
                scale: t.attentionScale.map(Float.init), causal: t.causal, window: sliding ? t.slidingWindow : nil,
                softCap: t.attentionSoftCap.map(Float.init)))
        return TransformerBlock(
            placement: t.normPlacement, attentionNorm: norm(.attentionNorm), attention: attention,
            postAttentionNorm: t.sublayerOutputNorms ? norm(.postAttentionNorm) : nil,
            feedForwardNorm: norm(.feedForwardNorm), feedForward: feedForward(layer, t, binder: b),
            postFeedForwardNorm: t.sublayerOutputNorms ? norm(.postFeedForwardNorm) : nil)
    }

    static func feedForward(_ layer: Int, _ t: TextStack, binder b: WeightBinder) -> FeedForward {
        if let experts = t.experts, t.isSparse(layer: layer) {
            let gates = b.expertMatrices(.layer(layer, .expertGate))
            let ups = b.expertMatrices(.layer(layer, .expertUp))
            let downs = b.expertMatrices(.layer(layer, .expertDown))
            let mlps = zip(gates, zip(ups, downs)).map { gate, rest in
                FeedForward.gated(gate: Linear(weight: gate), up: Linear(weight: rest.0), down: Linear(weight: rest.1), activation: t.activation)
            }
            return .experts(router: b.linear(layer, .router, bias: false), experts: mlps, used: experts.usedExpertCount,
                            normalize: experts.normalizeTopK)
        }
        let bias = t.feedForwardBias
        if !t.gatedFeedForward {
            return .plain(up: b.linear(layer, .up, bias: bias), down: b.linear(layer, .down, bias: bias), activation: t.activation)
        }
        if t.fusedGateUp {
            return .fusedGated(gateUp: b.linear(layer, .gateUp, bias: bias), down: b.linear(layer, .down, bias: bias), activation: t.activation)
        }
        return .gated(gate: b.linear(layer, .gate, bias: bias), up: b.linear(layer, .up, bias: bias), down: b.linear(layer, .down, bias: bias),
                      activation: t.activation)
    }

    /// The rotary tables of the full and the sliding-window layers. llama.cpp stores Llama's q
    /// and k rows permuted so that its adjacent-pair rotary kernel reproduces rotate-half;
    /// rotating adjacent pairs of the permuted rows gives the same attention scores, so the
    /// permutation is undone by the rotary layout, without copying.
    static func rotaryTables(_ t: TextStack, schema: TensorSchema, binder b: WeightBinder) throws -> (full: RotaryTable?, sliding: RotaryTable?) {
        guard var rotary = t.rotary else { return (nil, nil) }
        var layout: RotaryTable.Layout = rotary.layout == .interleaved ? .interleaved : .halves
        if b.gguf, case .rotaryRowPermutation? = schema[.layer(0, .query)]?.toGGUF { layout = .interleaved }
        // llama.cpp writes frequency-dependent rope scaling (llama3) as per-frequency divisors.
        var factors: [Float]?
        if b.gguf, b.has(TensorRole(.ropeFrequencies)) { factors = b.vector(TensorRole(.ropeFrequencies)) }
        // And longrope's factor lists (Phi-3) as two tensors, which the file's description already
        // holds; these are the values its rotation uses.
        if b.gguf, var scaling = rotary.scaling, scaling.type == "longrope",
           b.has(TensorRole(.ropeFactorsShort)), b.has(TensorRole(.ropeFactorsLong)) {
            scaling.factorLists["short_factor"] = b.vector(TensorRole(.ropeFactorsShort)).map(Double.init)
            scaling.factorLists["long_factor"] = b.vector(TensorRole(.ropeFactorsLong)).map(Double.init)
            rotary.scaling = scaling
        }
        let full = try table(rotary, t, layout: layout, frequencyFactors: factors)
        let sliding = try t.slidingRotary.map { try table($0, t, layout: layout, frequencyFactors: nil) }
        return (full, sliding)
    }

    static func table(_ rotary: RotaryEmbedding, _ t: TextStack, layout: RotaryTable.Layout, frequencyFactors: [Float]?) throws -> RotaryTable {
        guard rotary.dimensions % 2 == 0, rotary.dimensions <= t.keyLength else {
            throw ModelError.unsupportedModel(modelType: "decoder", reason: "\(rotary.dimensions) rotary dimensions do not fit heads of \(t.keyLength)")
        }
        var scaling = RotaryTable.Scaling.none
        if let frequencyFactors, frequencyFactors.count == rotary.dimensions / 2 {
            scaling = .frequencyFactors(frequencyFactors)
        } else if let s = rotary.scaling {
            let original = s.originalContextLength ?? t.contextLength
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
            case "longrope":
                let half = rotary.dimensions / 2
                guard let short = s.factorLists["short_factor"], let long = s.factorLists["long_factor"],
                      short.count == half, long.count == half else {
                    throw ModelError.unsupportedModel(modelType: "decoder", reason: "longrope needs \(half) short and \(half) long factors")
                }
                let attention = s.parameters["attention_factor"]
                    ?? (s.factor <= 1 || original <= 1 ? 1 : (1 + log(s.factor) / log(Double(original))).squareRoot())
                scaling = .longrope(shortFactors: short.map(Float.init), longFactors: long.map(Float.init), originalContext: original,
                                    attentionFactor: Float(attention))
            default:
                throw ModelError.unsupportedModel(modelType: "decoder", reason: "rope scaling '\(s.type)' is not implemented")
            }
        }
        return RotaryTable(dimensions: rotary.dimensions, base: Float(rotary.theta), layout: layout, scaling: scaling)
    }

    /// PE(pos, 2i) = sin(pos · 10000^(−2i/d)), PE(pos, 2i+1) = cos(...), computed in Double.
    static func sinusoidalTable(positions: Int, size: Int) -> [Float] {
        var table = [Float](repeating: 0, count: positions * size)
        for position in 0..<positions {
            for i in stride(from: 0, to: size, by: 2) {
                let angle = Double(position) * exp(Double(i) * -log(10000.0) / Double(size))
                table[position * size + i] = Float(sin(angle))
                if i + 1 < size { table[position * size + i + 1] = Float(cos(angle)) }
            }
        }
        return table
    }
}

extension Linear {
    init(weight: WeightMatrix) {
        self.init(weight: weight, bias: nil)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
