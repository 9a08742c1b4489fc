import WeightArchitecture
import WeightCompute
import WeightFormats

/// Loads a runnable model from a path: a Hugging Face directory, a safetensors file beside its
/// config.json, or a GGUF file. The family comes from `model_type` / `general.architecture`
/// through `ModelFamilies`; a family is runnable when its builder (an extension of its
/// descriptor in this module) conforms to `LanguageModelBuilder`.
public enum ModelRegistry {
    /// Model types `load` accepts.
    public static var supportedModelTypes: [String] {
        ModelFamilies.all.filter { $0 is any LanguageModelBuilder.Type }.flatMap { $0.modelTypes }
    }

    /// Loads the causal language model at `path`.
    /// - Parameter context: the threads and scratch the model computes with (by default its
    ///   own, with one thread per processor).
    public static func load(_ path: String, context: ComputeContext = ComputeContext()) throws -> CausalLanguageModel {
        let checkpoint = try Checkpoint.open(path)
        let architecture = try ArchitectureLoader.load(path)
        return try load(checkpoint: checkpoint, architecture: architecture, context: context)
    }

    /// Builds the causal language model `architecture` describes from `checkpoint`'s tensors.
    /// The description is validated first (`ArchitectureValidator`), whoever made it.
    public static func load(checkpoint: Checkpoint, architecture: ModelArchitecture,
                            context: ComputeContext = ComputeContext()) throws -> CausalLanguageModel {
        try ArchitectureValidator(file: architecture.origin.path, spelling: .huggingFace, tensorCount: checkpoint.tensors.count)
            .validate(architecture)
        let found = ModelFamilies.family(modelType: architecture.modelType)
        if found is any EncoderModelBuilder.Type { throw ModelError.encoderOnly(modelType: architecture.modelType) }
        guard let family = found, let builder = family as? any LanguageModelBuilder.Type else {
            throw ModelError.unsupportedModel(
                modelType: architecture.modelType, reason: "supported model types are " + supportedModelTypes.joined(separator: ", "))
        }
        // Every weight is read by the first forward pass: map the files' pages now, when they
        // fit in memory with room to spare, rather than one page fault at a time during it.
        if checkpoint.totalFileSize < MappedFile.physicalMemory / 2 {
            for file in checkpoint.files { file.advise(.populate) }
        }
        return try builder.languageModel(checkpoint: checkpoint, architecture: architecture, context: context)
    }

    /// Model types `loadEncoder` accepts.
    public static var supportedEncoderTypes: [String] {
        ModelFamilies.all.filter { $0 is any EncoderModelBuilder.Type }.flatMap { $0.modelTypes }
    }

    /// Loads the encoder (BERT) at `path`: a Hugging Face directory or a GGUF file.
    public static func loadEncoder(_ path: String, context: ComputeContext = ComputeContext()) throws -> EncoderModel {
        try loadEncoder(checkpoint: try Checkpoint.open(path), architecture: try ArchitectureLoader.load(path), context: context)
    }

    /// Builds the encoder `architecture` describes from `checkpoint`'s tensors.
    public static func loadEncoder(checkpoint: Checkpoint, architecture: ModelArchitecture,
                                   context: ComputeContext = ComputeContext()) throws -> EncoderModel {
        try ArchitectureValidator(file: architecture.origin.path, spelling: .huggingFace, tensorCount: checkpoint.tensors.count)
            .validate(architecture)
        guard let family = ModelFamilies.family(modelType: architecture.modelType),
              let builder = family as? any EncoderModelBuilder.Type else {
            throw ModelError.unsupportedModel(
                modelType: architecture.modelType, reason: "encoders are supported for " + supportedEncoderTypes.joined(separator: ", "))
        }
        if checkpoint.totalFileSize < MappedFile.physicalMemory / 2 {
            for file in checkpoint.files { file.advise(.populate) }
        }
        return try builder.encoderModel(checkpoint: checkpoint, architecture: architecture, context: context)
    }
}
