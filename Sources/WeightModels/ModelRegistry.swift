import WeightArchitecture
import WeightFormats

/// Loads a runnable model from a path: a Hugging Face directory, a safetensors file beside its
/// config.json, or a GGUF file. The family comes from `model_type` / `general.architecture`.
public enum ModelRegistry {
    static let decoderFamilies: [DecoderFamily.Type] = [Llama.self, Qwen2.self, Qwen3.self, Qwen3MoE.self]

    /// Model types `load` accepts.
    public static var supportedModelTypes: [String] { decoderFamilies.map { $0.modelType } + ["expert_lm", "meta_mtp"] }

    /// Loads the causal language model at `path`, its products to run with `kernels`.
    public static func load(_ path: String, kernels: Kernels = .best) throws -> CausalLanguageModel {
        let checkpoint = try Checkpoint.open(path)
        let architecture = try ArchitectureLoader.load(path)
        return try load(checkpoint: checkpoint, architecture: architecture, kernels: kernels)
    }

    public static func load(checkpoint: Checkpoint, architecture: ModelArchitecture,
                            kernels: Kernels = .best) throws -> CausalLanguageModel {
        // Every weight is read by the first forward pass: map the files' pages now, when they
        // fit in memory with room to spare, rather than one page fault at a time during it.
        if checkpoint.totalFileSize < MappedFile.physicalMemory / 2 {
            for file in checkpoint.files { file.advise(.populate) }
        }
        if architecture.modelType == "expert_lm", let text = architecture.text {
            return try ExpertLanguageModel(architecture: text, checkpoint: checkpoint, kernels: kernels)
        }
        if architecture.modelType == "meta_mtp", let text = architecture.text {
            return try MetaMTPModel(architecture: text, checkpoint: checkpoint, kernels: kernels)
        }
        guard let family = decoderFamilies.first(where: { $0.modelType == architecture.modelType }) else {
            throw ModelError.unsupportedModel(
                modelType: architecture.modelType,
                reason: "supported model types are " + supportedModelTypes.joined(separator: ", "))
        }
        return try DecoderBuilder.build(family, checkpoint: checkpoint, architecture: architecture, kernels: kernels)
    }
}
