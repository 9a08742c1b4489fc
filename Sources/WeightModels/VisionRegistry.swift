import WeightArchitecture
import WeightFormats

extension ModelRegistry {
    /// Model types `loadVisionEncoder` accepts.
    public static let supportedVisionModelTypes = [
        "clip_vision_model", "clip", "siglip_vision_model", "siglip", "llava", "llava_next_video",
    ]

    /// Loads the vision encoder at `path`: a CLIP or SigLIP tower alone, the vision half of a
    /// full CLIP/SigLIP model, or the vision tower of a LLaVA checkpoint.
    public static func loadVisionEncoder(_ path: String) throws -> VisionTransformer {
        let checkpoint = try Checkpoint.open(path)
        let architecture = try ArchitectureLoader.load(path)
        return try loadVisionEncoder(checkpoint: checkpoint, architecture: architecture)
    }

    public static func loadVisionEncoder(checkpoint: Checkpoint, architecture: ModelArchitecture) throws -> VisionTransformer {
        guard let tower = architecture.vision else {
            throw ModelError.unsupportedModel(
                modelType: architecture.modelType,
                reason: "it has no vision encoder; supported model types are " + supportedVisionModelTypes.joined(separator: ", "))
        }
        switch tower.family {
        case .clip: return try CLIPVision.build(checkpoint: checkpoint, tower: tower)
        case .siglip: return try SigLIPVision.build(checkpoint: checkpoint, tower: tower)
        }
    }
}
