import WeightFormats

/// The expert language model of seed 002 (`model_type: "expert_lm"`, state-dict names in
/// Docs/EXPERT_LM.md): pre-LN blocks of multi-head attention with biases and a two-layer GELU
/// feed-forward with biases, sinusoidal positions, a final LayerNorm, an untied LM head without
/// bias. PyTorch's LayerNorm epsilon (1e-5) unless the config says otherwise. No GGUF layout.
public enum ExpertLM: ModelFamily {
    public static let modelTypes = ["expert_lm"]

    public static let huggingFaceSpelling = KeySpelling.huggingFace.overriding([
        .hiddenSize: "d_model", .headCount: "n_heads", .kvHeadCount: "n_heads", .layerCount: "n_layers",
        .feedForwardLength: "d_ff", .contextLength: "max_seq_len", .normEpsilon: "layer_norm_eps",
        .keyLength: "d_model", .valueLength: "d_model",
    ])

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let hidden = try config.count("d_model", 512, limit: ArchitectureLimits.maxHiddenSize)
        let heads = try config.count("n_heads", 8, limit: ArchitectureLimits.maxHeads)
        guard hidden % heads == 0 else {
            throw ArchitectureError.ruleViolated(file: config.file, key: "d_model", value: "\(hidden)", rule: .multipleOf("n_heads", heads))
        }
        let text = TextStack(
            vocabularySize: try config.int("vocab_size"), hiddenSize: hidden, layerCount: try config.int("n_layers", 6),
            headCount: heads, kvHeadCount: heads, keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try config.int("d_ff", 2048), gatedFeedForward: false, activation: .gelu,
            contextLength: try config.int("max_seq_len", 2048), norm: .layer, normEpsilon: try config.double("layer_norm_eps", 1e-5),
            positions: .sinusoidal, attentionBias: true, attentionOutputBias: true, feedForwardBias: true,
            tiedEmbeddings: false, outputBias: false, causal: true)
        return ModelArchitecture(modelType: modelTypes[0], text: text, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    static let naming: DecoderNaming = {
        var naming = DecoderNaming(parts: [
            .attentionNorm: ("norm1", ""),
            .query: ("attention.q_proj", ""), .key: ("attention.k_proj", ""), .value: ("attention.v_proj", ""),
            .attentionOutput: ("attention.out_proj", ""),
            .feedForwardNorm: ("norm2", ""),
            .up: ("feed_forward.fc1", ""), .down: ("feed_forward.fc2", ""),
        ])
        naming.blockPrefix = ("transformer_blocks.", "")
        return naming
    }()

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        let t = try architecture.requireText()
        var schema = TensorSchema()
        schema.buffers = { $0 == "positional_encoding.pe" }
        func global(_ part: TensorRole.Part, _ name: String, _ shape: [Int], _ component: ParameterComponent,
                    _ parameter: TensorRole.Parameter = .weight) {
            schema.add(TensorSpec(role: TensorRole(part, parameter), huggingFace: .tensor("\(name).\(parameter.rawValue)"), gguf: nil,
                                  shape: shape, component: component))
        }
        global(.tokenEmbedding, "token_embedding", [t.vocabularySize, t.hiddenSize], .embedding)
        for layer in 0..<t.layerCount {
            DecoderSchema.addBlock(layer, t, naming: naming, prefixes: ("transformer_blocks.\(layer).", ""), into: &schema)
        }
        global(.finalNorm, "final_norm", [t.hiddenSize], .norms)
        global(.finalNorm, "final_norm", [t.hiddenSize], .norms, .bias)
        global(.outputHead, "lm_head", [t.vocabularySize, t.hiddenSize], .outputHead)
        return schema.withoutGGUFNames()
    }
}

extension TensorSchema {
    /// The schema with every GGUF name removed (families llama.cpp does not have).
    func withoutGGUFNames() -> TensorSchema {
        var copy = TensorSchema()
        copy.buffers = buffers
        for var spec in tensors {
            spec.gguf = nil
            copy.add(spec)
        }
        return copy
    }
}
