import WeightFormats

/// CLIP (transformers' `CLIPModel`, `CLIPVisionModel`, `CLIPVisionModelWithProjection`): a ViT
/// image tower with a class token, learned positions and a pre-norm (`pre_layrnorm`), quick-GELU
/// blocks, and in the full model a text tower and the two projections. llama.cpp's image
/// encoders (`general.architecture = clip`, "mmproj" files) hold the tower and LLaVA's projector.
public enum CLIP: ModelFamily {
    public static let modelTypes = ["clip_vision_model", "clip"]
    public static let ggufArchitecture: String? = "clip"

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let modelType = try config.string("model_type")
        if modelType == "clip" { return try VisionConfig.contrastive(config, modelType: modelType, family: .clip, origin: origin) }
        // `projection_dim` is in every CLIPVisionConfig; only CLIPVisionModelWithProjection has the projection.
        let classes = try config.stringArray("architectures") ?? []
        let projection = classes.contains("CLIPVisionModelWithProjection") ? try config.count("projection_dim", 512) : nil
        return ModelArchitecture(modelType: modelType, vision: try VisionConfig.tower(config, family: .clip, projection: projection),
                                 storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    /// llama.cpp's image-encoder files: a CLIP-style tower from `clip.vision.*` keys and `v.*`
    /// tensors, and with `clip.has_llava_projector` LLaVA's two-layer MLP projector (`mm.0`,
    /// `mm.2`). Other projector types and SigLIP-style towers (no class embedding) are refused.
    public static func architecture(gguf keys: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        let file = keys.file
        let shapes = tensors.shapes
        guard try keys.optionalBool("has_vision_encoder") ?? true, shapes["v.patch_embd.weight"] != nil else {
            throw ArchitectureError.invalidValue(file: file, key: "clip.has_vision_encoder", reason: "the file holds no vision encoder")
        }
        guard shapes["v.class_embd"] != nil else {
            throw ArchitectureError.unsupportedModelType(file: file, modelType: "clip (without a class embedding)", supported: ["clip (CLIP ViT)"])
        }
        let hidden = try keys.count("vision.embedding_length")
        let tower = VisionTower(
            family: .clip, imageSize: try keys.count("vision.image_size"), patchSize: try keys.count("vision.patch_size"),
            hiddenSize: hidden, layerCount: try keys.int("vision.block_count"),
            headCount: try keys.count("vision.attention.head_count"), feedForwardLength: try keys.int("vision.feed_forward_length"),
            activation: try keys.optionalBool("use_gelu") == true ? .gelu : .quickGelu,
            normEpsilon: try keys.optionalDouble("vision.attention.layer_norm_epsilon") ?? 1e-5, classToken: true,
            preNorm: shapes["v.pre_ln.weight"] != nil, poolingHead: false)
        var architecture = ModelArchitecture(modelType: "clip", vision: tower, origin: .ggufMetadata(path: file))
        if try keys.optionalBool("has_llava_projector") == true {
            let type = try keys.optionalString("projector_type") ?? "mlp"
            guard type == "mlp", let output = shapes["mm.2.weight"]?.first else {
                throw ArchitectureError.unsupportedModelType(file: file, modelType: "clip projector '\(type)'", supported: ["mlp"])
            }
            // The file keeps the blocks up to the feature layer: its last hidden state is the feature.
            architecture.projector = VisionProjector(inputSize: hidden, outputSize: output, activation: .gelu, featureLayer: -1)
        }
        return architecture
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        var schema = TensorSchema()
        if let vision = architecture.vision { VisionSchema.tower(vision, prefix: "vision_model.", into: &schema) }
        if let text = architecture.text { VisionSchema.contrastiveText(text, prefix: "text_model.", into: &schema) }
        if let heads = architecture.contrastive {
            VisionSchema.contrastiveHeads(heads, text: architecture.text, family: .clip, into: &schema)
        }
        if let projector = architecture.projector { LLaVA.projectorSchema(projector, modelType: "llava", into: &schema) }
        return schema
    }
}
