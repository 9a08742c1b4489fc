import WeightFormats

/// Phi-3 (transformers' `Phi3ForCausalLM`, `Phi3Config`; also Phi-4-mini's `phi3` type): the
/// Llama block with one fused `qkv_proj` (rows q, then k, then v) and one fused `gate_up_proj`
/// (gate rows first: `gate, up = gate_up_proj(x).chunk(2)`), no biases, optional partial rotary
/// (`partial_rotary_factor`), a sliding window on every layer when `sliding_window` is set
/// (none by default), and LongRoPE scaling:
///
/// - `rope_scaling` of type `longrope` (or `su`/`yarn`, which Phi3Config renames `longrope`;
///   other types are refused as Phi3Config refuses them) with `short_factor` and `long_factor`,
///   one per rotated pair;
/// - the original context is the top-level `original_max_position_embeddings` (4096 by
///   default), which transformers prefers over the one inside `rope_scaling`;
/// - the factor is `rope_scaling.factor` when given, else max / original positions; the
///   attention factor `rope_scaling.attention_factor` when given, else
///   √(1 + ln(factor) / ln(original)) for factors above 1 (`_compute_longrope_parameters`).
///
/// llama.cpp's converter (Phi3MiniModel) keeps both fusions (`attn_qkv`, `ffn_up` of twice the
/// width, whose first half llama.cpp's SwiGLU gates the second with), writes the factor lists as
/// `rope_factors_long`/`rope_factors_short` and the attention factor as
/// `phi3.rope.scaling.attn_factor` (its own formula from max / original positions), and always
/// writes `phi3.attention.sliding_window` (0 for none), which llama.cpp then disables.
public enum Phi3: ModelFamily {
    public static let modelTypes = ["phi3"]
    public static let huggingFaceClass: String? = "Phi3ForCausalLM"
    public static let ggufArchitecture: String? = "phi3"
    /// llama.cpp disables Phi-3's window (`load_arch_hparams`): full attention, full KV cache.
    public static let llamaCppHonoursSlidingWindow = false

    static let defaults = DecoderDefaults(
        vocabularySize: 32064, hiddenSize: 3072, intermediateSize: 8192, layers: 32, heads: 32, context: 4096, epsilon: 1e-5)
    /// `Phi3Config.pad_token_id` when config.json does not name it.
    static let defaultPadToken = 32000
    /// `Phi3Config.original_max_position_embeddings` when config.json does not name it.
    static let defaultOriginalContext = 4096

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        var stack = try DecoderConfig.textStack(config, defaults: defaults)
        stack.fusedQKV = true
        stack.fusedGateUp = true
        if var rotary = stack.rotary, let scaling = rotary.scaling {
            let sourceKey = config.has("rope_parameters") ? "rope_parameters" : "rope_scaling"
            rotary.scaling = try longrope(
                scaling, source: try config.child(sourceKey) ?? config.empty(), key: sourceKey, file: config.file,
                original: try config.int("original_max_position_embeddings", defaultOriginalContext), context: stack.contextLength)
            stack.positions = .rotary(rotary)
        }
        DecoderConfig.windowOnEveryLayer(try config.optionalInt("sliding_window"), stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    /// Phi3Config's reading of a scaling entry: longrope with both factor lists, its original
    /// context, factor and attention factor.
    static func longrope(_ scaling: RopeScaling, source: ConfigReader, key: String, file: String, original: Int,
                         context: Int) throws -> RopeScaling {
        guard ["longrope", "su", "yarn"].contains(scaling.type) else {
            throw ArchitectureError.invalidValue(
                file: file, key: "\(key).\(source.has("rope_type") ? "rope_type" : "type")",
                reason: "is '\(scaling.type)'; Phi-3 takes 'default' or 'longrope'")
        }
        for list in ["short_factor", "long_factor"] where scaling.factorLists[list] == nil {
            throw ArchitectureError.missingKey(file: file, key: "\(key).\(list)")
        }
        guard original > 0 else {
            throw ArchitectureError.ruleViolated(file: file, key: "original_max_position_embeddings", value: "\(original)", rule: .positive)
        }
        var result = scaling
        result.type = "longrope"
        result.originalContextLength = original
        result.factor = source.has("factor") ? scaling.factor : Double(context) / Double(original)
        if let given = result.parameters["attention_factor"] {
            // It multiplies every rotated query and key: a scale, never zero or negative.
            guard given.isFinite, given > 0 else {
                throw ArchitectureError.ruleViolated(file: file, key: "\(key).attention_factor", value: "\(given)", rule: .finitePositive)
            }
        } else {
            result.parameters["attention_factor"] = attentionFactor(factor: result.factor, original: original)
        }
        return result
    }

    /// `_compute_longrope_parameters`' default attention factor.
    static func attentionFactor(factor: Double, original: Int) -> Double {
        factor <= 1 || original <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot()
    }

    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        var stack = try DecoderGGUF.textStack(keys, tensors: tensors)
        stack.fusedQKV = true
        stack.fusedGateUp = true
        if var rotary = stack.rotary, tensors.contains("rope_factors_long.weight"), tensors.contains("rope_factors_short.weight") {
            let original = try keys.optionalInt("rope.scaling.original_context_length") ?? stack.contextLength
            guard original > 0 else {
                throw ArchitectureError.ruleViolated(
                    file: keys.file, key: keys.key("rope.scaling.original_context_length"), value: "\(original)", rule: .positive)
            }
            let factor = Double(stack.contextLength) / Double(original)
            // The converter's float32 of the transformers value reads back as that value.
            let computed = attentionFactor(factor: factor, original: original)
            let stored = try keys.optionalDouble("rope.scaling.attn_factor") ?? 1
            guard stored.isFinite, stored > 0 else {
                throw ArchitectureError.ruleViolated(file: keys.file, key: keys.key("rope.scaling.attn_factor"), value: "\(stored)", rule: .finitePositive)
            }
            // The lists' values, when the index has the file (a plan's index has shapes only).
            var lists: [String: [Double]] = [:]
            if let long = try tensors.vector("rope_factors_long.weight"), let short = try tensors.vector("rope_factors_short.weight") {
                lists = ["short_factor": short.map(Double.init), "long_factor": long.map(Double.init)]
            }
            rotary.scaling = RopeScaling(
                type: "longrope", factor: factor, originalContextLength: original,
                parameters: ["attention_factor": Float(stored) == Float(computed) ? computed : stored], factorLists: lists)
            stack.positions = .rotary(rotary)
        }
        // The converter writes 0 for "no window".
        DecoderConfig.windowOnEveryLayer(stack.slidingWindow == 0 ? nil : stack.slidingWindow, stack: &stack)
        return ModelArchitecture(modelType: modelTypes[0], text: stack, origin: .ggufMetadata(path: keys.file))
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        let text = try architecture.requireText()
        var schema = DecoderSchema.build(text, naming: .standard)
        if let rotary = text.rotary, rotary.scaling?.type == "longrope" {
            for (part, name) in [(TensorRole.Part.ropeFactorsLong, "rope_factors_long"), (.ropeFactorsShort, "rope_factors_short")] {
                schema.add(TensorSpec(role: TensorRole(part), huggingFace: .none, gguf: name + ".weight", shape: [rotary.dimensions / 2],
                                      component: .other, presence: .generated))
            }
        }
        return schema
    }

    /// Phi3MiniModel's keys in its order (the attention factor comes first, from
    /// `generate_extra_tensors`).
    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        let text = try architecture.requireText()
        guard let rotary = text.rotary else { throw ArchitectureError.notConvertible(modelType: architecture.modelType, format: "GGUF") }
        let longrope = rotary.scaling.flatMap { $0.type == "longrope" ? $0 : nil }
        var m = GGUFMetadataList()
        m["general.architecture"] = .string("phi3")
        if let longrope {
            // The converter computes it from max / original positions, as transformers does unless
            // the configuration gives a factor or an attention factor; WeightKit writes the one
            // transformers computes with.
            m["phi3.rope.scaling.attn_factor"] = .float32(Float(longrope.parameters["attention_factor"] ?? 1))
        }
        m["general.type"] = .string("model")
        m["general.name"] = .string(name)
        m["phi3.context_length"] = .uint32(UInt32(text.contextLength))
        m["phi3.rope.scaling.original_context_length"] = .uint32(UInt32(longrope?.originalContextLength ?? text.contextLength))
        m["phi3.embedding_length"] = .uint32(UInt32(text.hiddenSize))
        m["phi3.feed_forward_length"] = .uint32(UInt32(text.feedForwardLength))
        m["phi3.block_count"] = .uint32(UInt32(text.layerCount))
        m["phi3.attention.head_count"] = .uint32(UInt32(text.headCount))
        m["phi3.attention.head_count_kv"] = .uint32(UInt32(text.kvHeadCount))
        m["phi3.attention.layer_norm_rms_epsilon"] = .float32(Float(text.normEpsilon))
        m["phi3.rope.dimension_count"] = .uint32(UInt32(rotary.dimensions))
        m["phi3.rope.freq_base"] = .float32(Float(rotary.theta))
        m["general.file_type"] = .uint32(fileType)
        m["phi3.attention.sliding_window"] = .uint32(UInt32(text.slidingWindow ?? 0))
        m["general.quantization_version"] = .uint32(2)
        return m
    }

    public static let writesGGUF = true

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        let text = try architecture.requireText()
        return try DecoderGGUF.huggingFaceConfig(architecture, className: huggingFaceClass, dtype: dtype) { c in
            c["attention_bias"] = nil
            c["sliding_window"] = text.slidingWindow.map { .int($0) } ?? .null
            // Phi3Config's default pad token (32000) becomes the embedding's padding index, which
            // must lie within the vocabulary.
            if text.vocabularySize <= defaultPadToken { c["pad_token_id"] = .null }
            guard let rotary = text.rotary else { return }
            if rotary.dimensions != text.keyLength {
                c["partial_rotary_factor"] = .double(Double(rotary.dimensions) / Double(text.keyLength))
            }
            if let scaling = rotary.scaling, scaling.type == "longrope", let original = scaling.originalContextLength {
                c["original_max_position_embeddings"] = .int(original)
                var rope = JSONObject()
                rope["type"] = .string("longrope")
                for list in ["short_factor", "long_factor"] {
                    rope[list] = .array((scaling.factorLists[list] ?? []).map { .double(Double(Float($0))) })
                }
                let defaultFactor = Double(text.contextLength) / Double(original)
                if scaling.factor != defaultFactor { rope["factor"] = .double(scaling.factor) }
                if let attention = scaling.parameters["attention_factor"], attention != attentionFactor(factor: scaling.factor, original: original) {
                    rope["attention_factor"] = .double(attention)
                }
                c["rope_scaling"] = .object(rope)
            } else {
                c["original_max_position_embeddings"] = .int(text.contextLength)
            }
        }
    }

    public static func generatedTensors(_ architecture: ModelArchitecture) -> [GeneratedTensor] {
        guard let scaling = architecture.text?.rotary?.scaling, scaling.type == "longrope",
              let long = scaling.factorLists["long_factor"], let short = scaling.factorLists["short_factor"], !long.isEmpty else { return [] }
        return [GeneratedTensor(name: "rope_factors_long.weight", values: long.map(Float.init)),
                GeneratedTensor(name: "rope_factors_short.weight", values: short.map(Float.init))]
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
