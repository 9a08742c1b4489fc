import WeightFormats

/// LLaVA and LLaVA-NeXT-Video (transformers' `LlavaForConditionalGeneration`,
/// `LlavaNextVideoForConditionalGeneration`): a CLIP or SigLIP vision tower, a two-layer MLP
/// projector (`multi_modal_projector.linear_1`, `linear_2`) from a chosen vision layer's
/// features into the language model's embeddings, and a decoder language model from
/// `text_config` (read by that model type's own family).
public enum LLaVA: ModelFamily {
    public static let modelTypes = ["llava", "llava_next_video"]

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let modelType = try config.string("model_type")
        guard let visionConfig = try config.child("vision_config") else {
            throw ArchitectureError.missingKey(file: config.file, key: "vision_config")
        }
        guard let textConfig = try config.child("text_config") else {
            throw ArchitectureError.missingKey(file: config.file, key: "text_config")
        }
        let visionType = try visionConfig.string("model_type", "clip_vision_model")
        let vision = try VisionConfig.tower(visionConfig, family: visionType.hasPrefix("siglip") ? .siglip : .clip)
        let textType = try textConfig.string("model_type", "llama")
        guard let textFamily = ModelFamilies.family(modelType: textType), textFamily.ggufArchitecture != nil || textType == "llama" else {
            throw ArchitectureError.unsupportedModelType(file: config.file, modelType: textType, supported: ["llama", "qwen2", "mistral"])
        }
        let language = try textFamily.architecture(huggingFace: textConfig, origin: origin)
        guard let text = language.text else {
            throw ArchitectureError.unsupportedModelType(file: config.file, modelType: textType, supported: ["a decoder language model"])
        }
        var layer = -2
        if config.object["vision_feature_layer"]?.arrayValue == nil {
            layer = try config.int("vision_feature_layer", -2)
        } else if let layers = try config.intArray("vision_feature_layer") {
            // Several layers are concatenated feature-wise (VipLLaVA style); one is a plain choice.
            guard layers.count == 1 else {
                throw ArchitectureError.invalidValue(file: config.file, key: "vision_feature_layer", reason: "lists \(layers.count) layers; one is supported")
            }
            layer = layers[0]
        }
        let projector = VisionProjector(
            inputSize: vision.hiddenSize, outputSize: text.hiddenSize,
            activation: try config.activation("projector_hidden_act", .gelu),
            bias: try config.bool("multimodal_projector_bias", true), featureLayer: layer,
            selectStrategy: try config.string("vision_feature_select_strategy", "default"),
            spatialPoolStride: try config.optionalInt("spatial_pool_stride"))
        var architecture = ModelArchitecture(modelType: modelType, text: text, vision: vision, projector: projector,
                                             storageDType: try DecoderConfig.storageType(config), origin: origin)
        architecture.languageModelType = language.modelType
        return architecture
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        var schema = TensorSchema()
        if let text = architecture.text {
            let family = ModelFamilies.family(modelType: architecture.languageModelType ?? "llama") ?? Llama.self
            let language = try family.schema(ModelArchitecture(modelType: family.name, text: text, origin: architecture.origin))
            for var spec in language.tensors {
                if case .tensor(let name) = spec.huggingFace { spec.huggingFace = .tensor("language_model." + name) }
                spec.gguf = nil
                schema.add(spec)
            }
        }
        if let vision = architecture.vision { VisionSchema.tower(vision, prefix: "vision_tower.vision_model.", into: &schema) }
        if let projector = architecture.projector { projectorSchema(projector, modelType: architecture.modelType, into: &schema) }
        return schema
    }

    /// LLaVA's two-layer projector (and LLaVA-NeXT's `image_newline`).
    static func projectorSchema(_ p: VisionProjector, modelType: String, into schema: inout TensorSchema) {
        func add(_ part: TensorRole.Part, _ name: String, _ shape: [Int], _ parameter: TensorRole.Parameter = .weight) {
            schema.add(TensorSpec(role: TensorRole(tower: .projector, part, parameter), huggingFace: .tensor(name), gguf: nil,
                                  shape: shape, component: .projector))
        }
        add(.projectorInput, "multi_modal_projector.linear_1.weight", [p.outputSize, p.inputSize])
        add(.projectorOutput, "multi_modal_projector.linear_2.weight", [p.outputSize, p.outputSize])
        if p.bias {
            add(.projectorInput, "multi_modal_projector.linear_1.bias", [p.outputSize], .bias)
            add(.projectorOutput, "multi_modal_projector.linear_2.bias", [p.outputSize], .bias)
        }
        if modelType.hasPrefix("llava_next") { add(.imageNewline, "image_newline", [p.outputSize]) }
    }
}
