import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

extension ModelRegistry {
    /// Model types `loadVisionEncoder` accepts.
    public static var supportedVisionModelTypes: [String] {
        let families: [any ModelFamily.Type] = [CLIP.self, SigLIP.self, LLaVA.self]
        return families.flatMap { $0.modelTypes }
    }

    /// Loads the vision encoder at `path`: a CLIP or SigLIP tower alone, the vision half of a
    /// full CLIP/SigLIP model, or the vision tower of a LLaVA checkpoint.
    /// - Parameter adapters: LoRA adapters applied unmerged to the tower's linear layers; their
    ///   module names must be the checkpoint's (PEFT on the same transformers class).
    public static func loadVisionEncoder(_ path: String, context: ComputeContext = ComputeContext(),
                                         adapters: [ScaledAdapter] = []) throws -> VisionTransformer {
        let checkpoint = try Checkpoint.open(path)
        let architecture = try ArchitectureLoader.load(path)
        return try loadVisionEncoder(checkpoint: checkpoint, architecture: architecture, context: context, adapters: adapters)
    }

    public static func loadVisionEncoder(checkpoint: Checkpoint, architecture: ModelArchitecture,
                                         context: ComputeContext = ComputeContext(), adapters: [ScaledAdapter] = []) throws -> VisionTransformer {
        try ArchitectureValidator(file: architecture.origin.path, spelling: .huggingFace, tensorCount: checkpoint.tensors.count)
            .validate(architecture)
        guard let tower = architecture.vision else {
            throw ModelError.unsupportedModel(
                modelType: architecture.modelType,
                reason: "it has no vision encoder; supported model types are " + supportedVisionModelTypes.joined(separator: ", "))
        }
        switch tower.family {
        case .clip: return try CLIPVision.build(checkpoint: checkpoint, tower: tower, context: context, adapters: adapters)
        case .siglip: return try SigLIPVision.build(checkpoint: checkpoint, tower: tower, context: context, adapters: adapters)
        }
    }
}
