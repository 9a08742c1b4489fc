import WeightFormats

/// Gemma 3's language model (transformers' `Gemma3ForCausalLM`, `Gemma3TextConfig`): Gemma 2's
/// block (post-norms, `1 + w` RMSNorms, √hidden embedding scale, GeGLU,
/// `query_pre_attn_scalar`) with an RMSNorm over every query and key head (`q_norm`, `k_norm`,
/// also `1 + w`) and no attention soft cap (transformers' Gemma 3 attention passes none, whatever
/// `attn_logit_softcapping` says). Five of every six layers attend through a sliding window
/// and rotate with their own base (`rope_parameters.sliding_attention`, 4.x
/// `rope_local_base_freq`, default 10,000) and no scaling; the others attend fully and rotate
/// with `rope_parameters.full_attention` (4.x `rope_theta` and `rope_scaling`: Gemma 3 4B and
/// up scale them linearly by 8).
///
/// llama.cpp's `gemma3` holds the global layers' base as `rope.freq_base` with the scaling keys,
/// the local base as `rope.freq_base_swa`; its converter cuts `token_embd` to the tokenizer's
/// size (see `prepareForGGUF`).
public enum Gemma3Text: ModelFamily {
    public static let modelTypes = ["gemma3_text"]
    public static let huggingFaceClass: String? = "Gemma3ForCausalLM"
    public static let ggufArchitecture: String? = "gemma3"

    static let defaults: DecoderDefaults = {
        var d = DecoderDefaults(
            vocabularySize: 262_208, hiddenSize: 2304, intermediateSize: 9216, layers: 26, heads: 8, kvHeads: 4,
            headDimension: 256, context: 131_072, epsilon: 1e-6)
        d.activation = .geluTanh
        d.tied = true
        d.ropeTheta = 1_000_000
        return d
    }()

    /// Gemma 3 27B's layers: llama.cpp derives its attention scale from hidden / heads.
    static let largeModelLayers = 62
    /// Every sixth layer attends fully (`sliding_window_pattern`, llama.cpp's default).
    static let slidingPeriod = 6
    /// The local layers' rotary base when the configuration names none.
    static let localTheta = 10_000.0

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try GemmaLayout.textStack(config, defaults: defaults, slidingPeriod: slidingPeriod)
        stack.qkNorm = true
        stack.finalLogitSoftCap = try config.optionalDouble("final_logit_softcapping")
        let rotary = try rotaryEmbeddings(config, headDimension: stack.keyLength)
        stack.positions = .rotary(rotary.full)
        stack.slidingRotary = rotary.sliding
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    /// The global and local layers' rotary parameters: 5.x `rope_parameters` per layer type, or
    /// 4.x `rope_theta` + `rope_scaling` (global) and `rope_local_base_freq` (local).
    static func rotaryEmbeddings(_ config: ConfigReader, headDimension: Int) throws -> (full: RotaryEmbedding, sliding: RotaryEmbedding) {
        if let parameters = try config.child("rope_parameters"), parameters.has("full_attention") || parameters.has("sliding_attention") {
            func perType(_ type: String, theta: Double) throws -> RotaryEmbedding {
                let inner = try parameters.child(type)?.object ?? JSONObject()
                let reader = ConfigReader(object: JSONObject([("rope_parameters", .object(inner))]), file: config.file)
                return try DecoderConfig.rotary(reader, headDimension: headDimension, theta: theta)
            }
            return (try perType("full_attention", theta: defaults.ropeTheta), try perType("sliding_attention", theta: localTheta))
        }
        let full = try DecoderConfig.rotary(config, headDimension: headDimension, theta: defaults.ropeTheta)
        let sliding = RotaryEmbedding(theta: try config.double("rope_local_base_freq", localTheta), dimensions: full.dimensions, layout: .halves)
        return (full, sliding)
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try GemmaLayout.textStack(keys, tensors: tensors, largeModelLayers: largeModelLayers)
        stack.qkNorm = true
        // The embedding matrix is the vocabulary (the converter may have cut it below the
        // tokenizer's list).
        if let rows = tensors.shapes["token_embd.weight"]?.first { stack.vocabularySize = rows }
        if let cap = try keys.optionalDouble("final_logit_softcapping"), cap != 0 { stack.finalLogitSoftCap = cap }
        if let window = try keys.optionalInt("attention.sliding_window"), window > 0 {
            stack.slidingWindow = window
            stack.layerTypes = try GemmaLayout.layerTypes(keys, layers: stack.layerCount, period: slidingPeriod)
        }
        if let rotary = stack.rotary {
            // llama.cpp rotates the window layers with `rope.freq_base_swa` and no scaling.
            stack.slidingRotary = RotaryEmbedding(
                theta: try keys.optionalDouble("rope.freq_base_swa") ?? localTheta, dimensions: rotary.dimensions, layout: rotary.layout)
        }
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        let t = try architecture.requireText()
        return DecoderSchema.build(t, naming: GemmaLayout.naming, ggufVocabulary: t.ggufVocabularySize)
    }

    /// `Gemma3Model.modify_tensors` keeps the first rows of `embed_tokens`, as many as the
    /// tokenizer has: with a `tokenizer.model`, the SentencePiece vocabulary padded to
    /// `vocab_size` (so all of them); otherwise tokenizer.json's `model.vocab` entries plus its
    /// `added_tokens` entries, counted separately even where they name the same token.
    public static func prepareForGGUF(_ architecture: inout ModelArchitecture, directory: String) throws {
        guard var text = architecture.text else { return }
        text.ggufVocabularySize = nil
        let tokenizerJSON = PathName.join(directory, "tokenizer.json")
        if !FileSystem.isRegularFile(PathName.join(directory, "tokenizer.model")), FileSystem.isRegularFile(tokenizerJSON) {
            let json = try JSON.parse(FileSystem.readFile(tokenizerJSON))
            let vocabulary = json["model"]?["vocab"]
            guard let entries = vocabulary?.objectValue?.count ?? vocabulary?.arrayValue?.count else {
                throw ArchitectureError.wrongType(file: tokenizerJSON, key: "model.vocab", expected: "an object or an array")
            }
            let added = json["added_tokens"]?.arrayValue?.count ?? 0
            if entries + added < text.vocabularySize { text.ggufVocabularySize = entries + added }
        }
        architecture.text = text
    }

    public static let writesGGUF = true
    public static let llamaCppHonoursSlidingWindow = true

    /// Gemma3Model.set_gguf_parameters' keys (TextModel's, with Gemma 3's defaults), in its
    /// order; what llama.cpp's gemma3 cannot hold is refused, and a layer pattern other than its
    /// default is added.
    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let t = try architecture.requireText()
        let format = "a gemma3 GGUF"
        try GemmaLayout.requireRepresentable(t, largeModelLayers: largeModelLayers, format: format)
        guard let rotary = t.rotary else {
            throw ArchitectureError.notRepresentable(key: "rope_parameters", value: "none", representable: "rotary positions", format: format)
        }
        if let scaling = rotary.scaling, scaling.type != "linear" {
            throw ArchitectureError.notRepresentable(
                key: "rope_parameters.full_attention.rope_type", value: scaling.type, representable: "linear or default", format: format)
        }
        let local = t.slidingRotary ?? RotaryEmbedding(theta: localTheta, dimensions: rotary.dimensions, layout: rotary.layout)
        if let scaling = local.scaling {
            throw ArchitectureError.notRepresentable(
                key: "rope_parameters.sliding_attention.rope_type", value: scaling.type, representable: "default (llama.cpp does not scale the local layers)", format: format)
        }
        let arch = "gemma3"
        var m = GGUFMetadataList()
        m["general.architecture"] = .string(arch)
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["\(arch).block_count"] = .uint32(UInt32(t.layerCount))
        m["\(arch).context_length"] = .uint32(UInt32(t.contextLength))
        m["\(arch).embedding_length"] = .uint32(UInt32(t.hiddenSize))
        m["\(arch).feed_forward_length"] = .uint32(UInt32(t.feedForwardLength))
        m["\(arch).attention.head_count"] = .uint32(UInt32(t.headCount))
        m["\(arch).attention.head_count_kv"] = .uint32(UInt32(t.kvHeadCount))
        if let scaling = rotary.scaling {
            m["\(arch).rope.scaling.type"] = .string("linear")
            m["\(arch).rope.scaling.factor"] = .float32(Float(scaling.factor))
        }
        m["\(arch).rope.freq_base"] = .float32(Float(rotary.theta))
        m["\(arch).rope.freq_base_swa"] = .float32(Float(local.theta))
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float32(Float(t.normEpsilon))
        m["\(arch).attention.key_length"] = .uint32(UInt32(t.keyLength))
        m["\(arch).attention.value_length"] = .uint32(UInt32(t.valueLength))
        m["general.file_type"] = .uint32(fileType)
        if let cap = t.finalLogitSoftCap { m["\(arch).final_logit_softcapping"] = .float32(Float(cap)) }
        // Without a windowed layer no window is written: llama.cpp's gemma3 then attends fully
        // everywhere (the converter writes the window whatever `layer_types` says).
        if let window = t.slidingWindow, t.layerTypes?.contains(.sliding) == true {
            m["\(arch).attention.sliding_window"] = .uint32(UInt32(window))
            GemmaLayout.writeLayerTypes(t, period: slidingPeriod, key: "\(arch).attention.sliding_window_pattern", into: &m)
        }
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype) { c in
            guard let t = architecture.text else { return }
            GemmaLayout.huggingFaceKeys(t, into: &c)
            c["rope_local_base_freq"] = .double((t.slidingRotary ?? t.rotary).map { $0.theta } ?? localTheta)
            if let scaling = t.rotary?.scaling {
                c["rope_scaling"] = .object(JSONObject([("rope_type", .string(scaling.type)), ("factor", .double(scaling.factor))]))
            }
            c["final_logit_softcapping"] = t.finalLogitSoftCap.map { .double(Double(Float($0)).shortestFloatDecimal) } ?? .null
        }
    }
}

/// Gemma 3 with its vision tower (transformers' `Gemma3ForConditionalGeneration`,
/// `Gemma3Config`), read for budgets: the language model of `text_config` (Gemma 3's, under
/// `model.language_model.`), a SigLIP vision tower of `vision_config` (`model.vision_tower.`,
/// usually without its pooling head), and the multi-modal projector
/// (`model.multi_modal_projector.`: an average pool of the patch grid down to
/// `mm_tokens_per_image` tokens, `mm_soft_emb_norm`, a `1 + w` RMSNorm of the vision width, and
/// `mm_input_projection_weight`, `[vision hidden, text hidden]`, applied as `x · W`).
public enum Gemma3: ModelFamily {
    public static let modelTypes = ["gemma3"]
    public static let huggingFaceClass: String? = "Gemma3ForConditionalGeneration"
    /// llama.cpp runs the language model as `gemma3`.
    public static let llamaCppHonoursSlidingWindow = true

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let textConfig = try config.child("text_config") ?? config.empty()
        let textType = try textConfig.string("model_type", Gemma3Text.modelTypes[0])
        guard textType == Gemma3Text.modelTypes[0] else {
            throw ArchitectureError.unsupportedModelType(file: config.file, modelType: textType, supported: Gemma3Text.modelTypes)
        }
        let language = try Gemma3Text.architecture(huggingFace: textConfig, origin: origin)
        guard let text = language.text else { throw ArchitectureError.missingKey(file: config.file, key: "text_config") }
        let vision = try VisionConfig.tower(try config.child("vision_config") ?? config.empty(), family: .siglip)
        var projector = VisionProjector(inputSize: vision.hiddenSize, outputSize: text.hiddenSize, activation: .gelu, bias: false,
                                        featureLayer: -1, selectStrategy: "full")
        projector.imageTokens = try config.count("mm_tokens_per_image", 256)
        var architecture = ModelArchitecture(modelType: modelTypes[0], text: text, vision: vision, projector: projector,
                                             storageDType: try DecoderConfig.storageType(config), origin: origin)
        architecture.languageModelType = Gemma3Text.modelTypes[0]
        return architecture
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        var schema = TensorSchema()
        schema.buffers = { $0.hasSuffix("rotary_emb.inv_freq") }
        if let text = architecture.text {
            let language = try Gemma3Text.schema(ModelArchitecture(modelType: Gemma3Text.name, text: text, origin: architecture.origin))
            for var spec in language.tensors {
                if case .tensor(let name) = spec.huggingFace, name.hasPrefix("model.") {
                    spec.huggingFace = .tensor("model.language_model." + name.dropFirst("model.".count))
                }
                spec.gguf = nil
                schema.add(spec)
            }
        }
        if let vision = architecture.vision { VisionSchema.tower(vision, prefix: "model.vision_tower.vision_model.", into: &schema) }
        if let p = architecture.projector {
            func add(_ part: TensorRole.Part, _ name: String, _ shape: [Int]) {
                schema.add(TensorSpec(role: TensorRole(tower: .projector, part), huggingFace: .tensor("model.multi_modal_projector." + name),
                                      gguf: nil, shape: shape, component: .projector))
            }
            add(.projectorInput, "mm_input_projection_weight", [p.inputSize, p.outputSize])
            add(.projectorNorm, "mm_soft_emb_norm.weight", [p.inputSize])
        }
        return schema
    }
}
