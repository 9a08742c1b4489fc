import WeightFormats

/// Reads a GGUF file's `{arch}.*` metadata (llama.cpp's key names) into a `ModelArchitecture`.
/// Facts only the tensors tell (biases, tied embeddings, Q/K norms) come from the tensor list.
public enum GGUFArchitecture {
    /// llama.cpp's architecture names and the Hugging Face model types they correspond to.
    public static let modelTypes: [String: String] = [
        "llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "qwen3moe": "qwen3_moe", "bert": "bert",
        MetaTensorNames.mtpArchitecture: "meta_mtp",
    ]

    public static func parse(_ gguf: GGUFFile) throws -> ModelArchitecture {
        let metadata = gguf.metadata
        let file = gguf.file.path
        guard let arch = metadata.string("general.architecture") else {
            throw ArchitectureError.missingKey(file: file, key: "general.architecture")
        }
        if arch == "clip" { return try clipImageEncoder(gguf) }
        guard let modelType = modelTypes[arch] else {
            throw ArchitectureError.unsupportedModelType(file: file, modelType: arch, supported: modelTypes.keys.sorted())
        }
        let names = Set(gguf.tensorInfos.map(\.name))
        let reader = GGUFKeys(metadata: metadata, prefix: arch, file: file)

        let hidden = try reader.int("embedding_length")
        let layers = try reader.int("block_count")
        let headsPerLayer = try reader.perLayer("attention.head_count", layers: layers)
        let heads = headsPerLayer.max() ?? 0
        let kvPerLayer = try reader.perLayerOptional("attention.head_count_kv", layers: layers) ?? headsPerLayer
        guard heads > 0 else { throw ArchitectureError.invalidValue(file: file, key: "\(arch).attention.head_count", reason: "must be positive") }
        let keyLength = try reader.optionalInt("attention.key_length") ?? hidden / heads
        let valueLength = try reader.optionalInt("attention.value_length") ?? keyLength
        let feedForward = try reader.perLayerOptional("feed_forward_length", layers: layers)?.max() ?? 0
        let vocabulary = try reader.optionalInt("vocab_size")
            ?? metadata.array("tokenizer.ggml.tokens")?.count
            ?? gguf.tensorInfos.first(where: { $0.name == "token_embd.weight" })?.shape.first
            ?? 0
        let isBERT = arch == "bert"
        let isMTP = arch == MetaTensorNames.mtpArchitecture
        let epsilon = try reader.optionalDouble("attention.layer_norm_rms_epsilon") ?? reader.optionalDouble("attention.layer_norm_epsilon") ?? 1e-5

        var positions: PositionEncoding
        if isBERT {
            positions = .learned(count: try reader.int("context_length"))
        } else {
            var rotary = RotaryEmbedding(
                theta: try reader.optionalDouble("rope.freq_base") ?? 10000,
                dimensions: try reader.optionalInt("rope.dimension_count") ?? keyLength,
                // Meta's checkpoints keep the adjacent-pair layout their rotary code uses.
                layout: isMTP ? .interleaved : .halves)
            if let type = try reader.optionalString("rope.scaling.type"), type != "none" {
                rotary.scaling = RopeScaling(
                    type: type, factor: try reader.optionalDouble("rope.scaling.factor") ?? 1,
                    originalContextLength: try reader.optionalInt("rope.scaling.original_context_length"))
            }
            positions = .rotary(rotary)
        }
        let uniformKV = Set(kvPerLayer).count <= 1
        var stack = TextStack(
            vocabularySize: vocabulary, hiddenSize: hidden, layerCount: layers, headCount: heads,
            kvHeadCount: kvPerLayer.first ?? heads, keyLength: keyLength, valueLength: valueLength,
            feedForwardLength: feedForward, gatedFeedForward: !isBERT, activation: isBERT ? .gelu : .silu,
            contextLength: try reader.optionalInt("context_length") ?? 0, norm: isBERT ? .layer : .rms,
            normEpsilon: epsilon, positions: positions,
            attentionBias: names.contains("blk.0.attn_q.bias"), attentionOutputBias: names.contains("blk.0.attn_output.bias"),
            feedForwardBias: names.contains("blk.0.ffn_up.bias"), qkNorm: names.contains("blk.0.attn_q_norm.weight"),
            tiedEmbeddings: !isBERT && !names.contains("output.weight"), causal: !isBERT,
            tokenTypeCount: isBERT ? (try reader.optionalInt("token_type_count") ?? metadata.int("tokenizer.ggml.token_type_count")) : nil,
            embeddingNorm: isBERT, finalNorm: !isBERT, hasOutputHead: !isBERT,
            kvHeadCountPerLayer: uniformKV ? nil : kvPerLayer)
        if let window = try reader.optionalInt("attention.sliding_window") { stack.slidingWindow = window }
        if isMTP {
            let future = try reader.int(MetaTensorNames.futureTokensKey)
            guard future >= 1, future <= layers else {
                throw ArchitectureError.invalidValue(
                    file: file, key: reader.key(MetaTensorNames.futureTokensKey), reason: "must be between 1 and block_count (\(layers))")
            }
            stack.futureTokens = future
        }
        if let count = try reader.optionalInt("expert_count"), count > 0 {
            stack.experts = MixtureOfExperts(
                expertCount: count, usedExpertCount: try reader.int("expert_used_count"),
                feedForwardLength: try reader.optionalInt("expert_feed_forward_length") ?? feedForward,
                // llama.cpp assumes renormalised top-k weights for qwen3moe when the key is absent.
                normalizeTopK: try reader.optionalBool("expert_weights_norm") ?? (arch == "qwen3moe"),
                denseLayers: (0..<layers).filter { !names.contains("blk.\($0).ffn_gate_inp.weight") })
        }
        return ModelArchitecture(modelType: modelType, text: stack, origin: .ggufMetadata(path: file))
    }
}

extension GGUFArchitecture {
    /// llama.cpp's image-encoder files (`general.architecture = clip`, "mmproj"): a CLIP-style
    /// vision tower from `clip.vision.*` keys and `v.*` tensors, and with
    /// `clip.has_llava_projector` LLaVA's two-layer MLP projector (`mm.0`, `mm.2`). Other
    /// projector types and SigLIP-style towers (no class embedding) are refused.
    static func clipImageEncoder(_ gguf: GGUFFile) throws -> ModelArchitecture {
        let file = gguf.file.path
        let reader = GGUFKeys(metadata: gguf.metadata, prefix: "clip", file: file)
        let shapes = Dictionary(gguf.tensorInfos.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        guard try reader.optionalBool("has_vision_encoder") ?? true, shapes["v.patch_embd.weight"] != nil else {
            throw ArchitectureError.invalidValue(file: file, key: "clip.has_vision_encoder", reason: "the file holds no vision encoder")
        }
        guard shapes["v.class_embd"] != nil else {
            throw ArchitectureError.unsupportedModelType(file: file, modelType: "clip (without a class embedding)", supported: ["clip (CLIP ViT)"])
        }
        let hidden = try reader.int("vision.embedding_length")
        let tower = VisionTower(
            family: .clip, imageSize: try reader.int("vision.image_size"), patchSize: try reader.int("vision.patch_size"),
            hiddenSize: hidden, layerCount: try reader.int("vision.block_count"),
            headCount: try reader.int("vision.attention.head_count"), feedForwardLength: try reader.int("vision.feed_forward_length"),
            activation: try reader.optionalBool("use_gelu") == true ? .gelu : .quickGelu,
            normEpsilon: try reader.optionalDouble("vision.attention.layer_norm_epsilon") ?? 1e-5, classToken: true,
            preNorm: shapes["v.pre_ln.weight"] != nil, poolingHead: false)
        var architecture = ModelArchitecture(modelType: "clip", vision: tower, origin: .ggufMetadata(path: file))
        if try reader.optionalBool("has_llava_projector") == true {
            let type = try reader.optionalString("projector_type") ?? "mlp"
            guard type == "mlp", let output = shapes["mm.2.weight"]?.first else {
                throw ArchitectureError.unsupportedModelType(file: file, modelType: "clip projector '\(type)'", supported: ["mlp"])
            }
            // The file keeps the blocks up to the feature layer: its last hidden state is the feature.
            architecture.projector = VisionProjector(inputSize: hidden, outputSize: output, activation: .gelu, featureLayer: -1)
        }
        return architecture
    }
}

/// Typed access to `{arch}.*` keys with errors naming the key.
struct GGUFKeys {
    let metadata: GGUFMetadata
    let prefix: String
    let file: String

    func key(_ suffix: String) -> String { "\(prefix).\(suffix)" }

    func optionalInt(_ suffix: String) throws -> Int? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let int = value.intValue else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "an integer (found \(value.typeName))")
        }
        return int
    }

    func int(_ suffix: String) throws -> Int {
        guard let value = try optionalInt(suffix) else { throw ArchitectureError.missingKey(file: file, key: key(suffix)) }
        return value
    }

    func optionalDouble(_ suffix: String) throws -> Double? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let double = value.doubleValue else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a number (found \(value.typeName))")
        }
        return double
    }

    func optionalBool(_ suffix: String) throws -> Bool? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let bool = value.boolValue else { throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a bool") }
        return bool
    }

    func optionalString(_ suffix: String) throws -> String? {
        guard let value = metadata[key(suffix)] else { return nil }
        guard let string = value.stringValue else { throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "a string") }
        return string
    }

    /// A value that is either one integer for all layers or an array with one per layer.
    func perLayerOptional(_ suffix: String, layers: Int) throws -> [Int]? {
        guard let value = metadata[key(suffix)] else { return nil }
        if let int = value.intValue { return Array(repeating: int, count: layers) }
        guard let array = value.arrayValue, let ints = array.integers() else {
            throw ArchitectureError.wrongType(file: file, key: key(suffix), expected: "an integer or an array of integers")
        }
        guard ints.count == layers else {
            throw ArchitectureError.invalidValue(file: file, key: key(suffix), reason: "has \(ints.count) entries for \(layers) layers")
        }
        return ints
    }

    func perLayer(_ suffix: String, layers: Int) throws -> [Int] {
        guard let values = try perLayerOptional(suffix, layers: layers) else { throw ArchitectureError.missingKey(file: file, key: key(suffix)) }
        return values
    }
}
