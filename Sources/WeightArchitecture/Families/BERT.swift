import WeightFormats

/// BERT (transformers' `BertModel`, `BertConfig`): learned absolute positions and token types
/// added to the token embeddings, an embedding LayerNorm, post-norm encoder blocks
/// (`norm(x + attention(x))`, `norm(h + ffn(h))`) with biases everywhere, exact GELU, and a
/// pooler (dense + tanh over the first token). The sentence-embedding models built on it (E5,
/// BGE, MiniLM) add pooling and normalisation in their sentence-transformers files.
public enum BERT: ModelFamily {
    public static let modelTypes = ["bert"]
    public static let huggingFaceClass: String? = "BertModel"
    public static let ggufArchitecture: String? = "bert"

    public static let huggingFaceSpelling = KeySpelling.huggingFace.overriding([
        .normEpsilon: "layer_norm_eps", .keyLength: "hidden_size", .valueLength: "hidden_size",
        .kvHeadCount: "num_attention_heads",
    ])

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let hidden = try config.count("hidden_size", 768, limit: ArchitectureLimits.maxHiddenSize)
        let heads = try config.count("num_attention_heads", 12, limit: ArchitectureLimits.maxHeads)
        guard hidden % heads == 0 else {
            throw ArchitectureError.ruleViolated(file: config.file, key: "hidden_size", value: "\(hidden)",
                                                 rule: .multipleOf("num_attention_heads", heads))
        }
        let positions = try config.int("max_position_embeddings", 512)
        let text = TextStack(
            vocabularySize: try config.int("vocab_size", 30522), hiddenSize: hidden,
            layerCount: try config.int("num_hidden_layers", 12), headCount: heads, kvHeadCount: heads,
            keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try config.int("intermediate_size", 3072), gatedFeedForward: false,
            activation: try config.activation("hidden_act", .gelu), contextLength: positions, norm: .layer,
            normEpsilon: try config.double("layer_norm_eps", 1e-12), positions: .learned(count: positions),
            attentionBias: true, attentionOutputBias: true, feedForwardBias: true, causal: false,
            tokenTypeCount: try config.int("type_vocab_size", 2), embeddingNorm: true, finalNorm: false, hasOutputHead: false)
        var architecture = ModelArchitecture(modelType: modelTypes[0], text: text, storageDType: try DecoderConfig.storageType(config), origin: origin)
        architecture.text?.normPlacement = .post
        return architecture
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        let hidden = try keys.count("embedding_length")
        let layers = try keys.count("block_count")
        guard layers <= ArchitectureLimits.maxLayers, tensors.count == 0 || layers <= tensors.count else {
            throw ArchitectureError.ruleViolated(file: keys.file, key: keys.key("block_count"), value: "\(layers)", rule: .moreThanTensors(tensors.count))
        }
        let heads = try keys.perLayer("attention.head_count", layers: layers).max() ?? 0
        guard heads > 0 else {
            throw ArchitectureError.ruleViolated(file: keys.file, key: keys.key("attention.head_count"), value: "\(heads)", rule: .positive)
        }
        let context = try keys.int("context_length")
        var text = TextStack(
            vocabularySize: try keys.optionalInt("vocab_size") ?? keys.global("tokenizer.ggml.tokens")?.arrayValue?.count
                ?? tensors.shapes["token_embd.weight"]?.first ?? 0,
            hiddenSize: hidden, layerCount: layers, headCount: heads, kvHeadCount: heads,
            keyLength: hidden / heads, valueLength: hidden / heads,
            feedForwardLength: try keys.perLayerOptional("feed_forward_length", layers: layers)?.max() ?? 0,
            gatedFeedForward: false, activation: .gelu, contextLength: context, norm: .layer,
            normEpsilon: try keys.optionalDouble("attention.layer_norm_epsilon") ?? 1e-12, positions: .learned(count: context),
            attentionBias: tensors.contains("blk.0.attn_q.bias"), attentionOutputBias: tensors.contains("blk.0.attn_output.bias"),
            feedForwardBias: tensors.contains("blk.0.ffn_up.bias"), causal: false,
            tokenTypeCount: try keys.optionalInt("token_type_count") ?? keys.global("tokenizer.ggml.token_type_count")?.intValue,
            embeddingNorm: true, finalNorm: false, hasOutputHead: false)
        text.normPlacement = .post
        if let value = try keys.optionalInt("pooling_type") {
            guard let pooling = Pooling(llamaCppValue: value) else {
                throw ArchitectureError.invalidValue(file: keys.file, key: keys.key("pooling_type"), reason: "is \(value), not 0 (none), 1 (mean), 2 (CLS) or 3 (last)")
            }
            text.pooling = pooling
        }
        return ModelArchitecture(modelType: modelTypes[0], text: text, origin: .ggufMetadata(path: keys.file))
    }

    public static let writesGGUF = true

    /// BertModel's `_try_set_pooling_type`: the first module of modules.json whose type ends in
    /// `Pooling`, its mean, CLS or last-token flag (or sentence-transformers 6's
    /// `pooling_mode`); nothing without modules.json. Another mode is refused, as the converter
    /// refuses it.
    public static func prepareForGGUF(_ architecture: inout ModelArchitecture, directory: String) throws {
        let modulesFile = PathName.join(directory, "modules.json")
        guard FileSystem.isRegularFile(modulesFile), var text = architecture.text else { return }
        let modules = try readJSON(modulesFile)
        guard let path = modules.arrayValue?.first(where: { $0["type"]?.stringValue?.hasSuffix("Pooling") == true })?["path"]?.stringValue
        else { return }
        let configFile = PathName.join(PathName.join(directory, path), "config.json")
        let config = try readJSON(configFile)
        let flags: [(String, Pooling)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_lasttoken", .last)]
        if let (_, pooling) = flags.first(where: { config[$0.0]?.boolValue == true }) {
            text.pooling = pooling
        } else if let mode = config["pooling_mode"]?.stringValue, let pooling = ["mean": Pooling.mean, "cls": .cls, "lasttoken": .last][mode] {
            text.pooling = pooling
        } else {
            throw ArchitectureError.invalidValue(file: configFile, key: "pooling_mode", reason: "must be mean, CLS or last-token pooling for GGUF")
        }
        architecture.text = text
    }

    static func readJSON(_ file: String) throws -> JSONValue {
        do {
            return try JSON.parse(FileSystem.readFile(file))
        } catch let error as FormatError {
            throw FormatError.inFile(file, error)
        }
    }

    /// BertModel's keys: TextModel's (no KV heads, no key length: BERT's config has neither),
    /// `layer_norm_epsilon`, then `attention.causal = false` and the pooling type when known.
    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let text = try architecture.requireText()
        var m = GGUFMetadataList()
        m["general.architecture"] = .string("bert")
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["bert.block_count"] = .uint32(UInt32(text.layerCount))
        m["bert.context_length"] = .uint32(UInt32(text.contextLength))
        m["bert.embedding_length"] = .uint32(UInt32(text.hiddenSize))
        m["bert.feed_forward_length"] = .uint32(UInt32(text.feedForwardLength))
        m["bert.attention.head_count"] = .uint32(UInt32(text.headCount))
        m["bert.attention.layer_norm_epsilon"] = .float32(Float(text.normEpsilon))
        m["general.file_type"] = .uint32(fileType)
        m["bert.attention.causal"] = .bool(false)
        if let pooling = text.pooling { m["bert.pooling_type"] = .uint32(UInt32(pooling.llamaCppValue)) }
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    /// BertConfig's keys for the description.
    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        let text = try architecture.requireText()
        var c = JSONObject()
        c["architectures"] = .array([.string(huggingFaceClass ?? "BertModel")])
        c["model_type"] = .string(modelTypes[0])
        c["vocab_size"] = .int(text.vocabularySize)
        c["hidden_size"] = .int(text.hiddenSize)
        c["num_hidden_layers"] = .int(text.layerCount)
        c["num_attention_heads"] = .int(text.headCount)
        c["intermediate_size"] = .int(text.feedForwardLength)
        c["hidden_act"] = .string(text.activation.configName)
        c["max_position_embeddings"] = .int(text.contextLength)
        c["type_vocab_size"] = .int(text.tokenTypeCount ?? 1)
        c["layer_norm_eps"] = .double(Double(Float(text.normEpsilon)).shortestFloatDecimal)
        c["torch_dtype"] = .string(dtype)
        return c
    }

    static let naming: DecoderNaming = {
        var naming = DecoderNaming(parts: [
            .query: ("attention.self.query", "attn_q"), .key: ("attention.self.key", "attn_k"),
            .value: ("attention.self.value", "attn_v"), .attentionOutput: ("attention.output.dense", "attn_output"),
            .attentionNorm: ("attention.output.LayerNorm", "attn_output_norm"),
            .up: ("intermediate.dense", "ffn_up"), .down: ("output.dense", "ffn_down"),
            .feedForwardNorm: ("output.LayerNorm", "layer_output_norm"),
        ])
        naming.blockPrefix = ("encoder.layer.", "blk.")
        return naming
    }()

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        let t = try architecture.requireText()
        var schema = TensorSchema()
        schema.buffers = { $0.hasSuffix("embeddings.position_ids") }
        let hidden = t.hiddenSize
        func global(_ part: TensorRole.Part, _ hf: String, _ gguf: String?, _ shape: [Int], _ component: ParameterComponent,
                    _ parameter: TensorRole.Parameter = .weight, presence: Presence = .required) {
            schema.add(TensorSpec(role: TensorRole(part, parameter), huggingFace: .tensor("\(hf).\(parameter.rawValue)"),
                                  gguf: gguf.map { "\($0).\(parameter.rawValue)" }, shape: shape, component: component, presence: presence))
        }
        global(.tokenEmbedding, "embeddings.word_embeddings", "token_embd", [t.vocabularySize, hidden], .embedding)
        if case .learned(let count) = t.positions {
            global(.positionEmbedding, "embeddings.position_embeddings", "position_embd", [count, hidden], .embedding)
        }
        if let types = t.tokenTypeCount {
            global(.tokenTypeEmbedding, "embeddings.token_type_embeddings", "token_types", [types, hidden], .embedding)
        }
        global(.embeddingNorm, "embeddings.LayerNorm", "token_embd_norm", [hidden], .norms)
        global(.embeddingNorm, "embeddings.LayerNorm", "token_embd_norm", [hidden], .norms, .bias)
        for layer in 0..<t.layerCount {
            DecoderSchema.addBlock(layer, t, naming: naming, prefixes: ("encoder.layer.\(layer).", "blk.\(layer)."), into: &schema)
        }
        // BertModel's pooler: a dense layer over the first token (llama.cpp's converter drops it).
        global(.pooler, "pooler.dense", nil, [hidden, hidden], .outputHead, presence: .optional)
        global(.pooler, "pooler.dense", nil, [hidden], .outputHead, .bias, presence: .optional)
        return schema
    }
}
