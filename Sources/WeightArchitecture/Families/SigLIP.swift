import WeightFormats

/// SigLIP (transformers' `SiglipModel`, `SiglipVisionModel`): a ViT image tower without a class
/// token or pre-norm, with a patch-embedding bias, tanh-GELU blocks and a multi-head
/// attention-pooling head (`vision_use_head`); the full model adds a text tower whose `head`
/// projects, and a learned logit bias.
public enum SigLIP: ModelFamily {
    public static let modelTypes = ["siglip_vision_model", "siglip"]

    public static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture {
        let modelType = try config.string("model_type")
        if modelType == "siglip" { return try VisionConfig.contrastive(config, modelType: modelType, family: .siglip, origin: origin) }
        return ModelArchitecture(modelType: modelType, vision: try VisionConfig.tower(config, family: .siglip),
                                 storageDType: try DecoderConfig.storageType(config), origin: origin)
    }

    public static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema {
        var schema = TensorSchema()
        if let vision = architecture.vision { VisionSchema.tower(vision, prefix: "vision_model.", into: &schema) }
        if let text = architecture.text { VisionSchema.contrastiveText(text, prefix: "text_model.", into: &schema) }
        if let heads = architecture.contrastive {
            VisionSchema.contrastiveHeads(heads, text: architecture.text, family: .siglip, into: &schema)
        }
        return schema
    }
}
