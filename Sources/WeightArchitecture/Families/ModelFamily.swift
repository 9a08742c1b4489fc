import WeightFormats

/// What WeightKit knows about one model family, in one place: how its configuration is read
/// (with the family's own defaults, transformers 4.x and 5.x spellings), what llama.cpp calls it
/// and which keys it writes, which tensors a checkpoint holds under which names and shapes, and
/// what a conversion writes back. Budgets, both conversion directions, the model registry and
/// the CLI ask the family (through `ModelFamilies`) instead of comparing model-type strings.
///
/// Adding a family is one file here (the descriptor), one builder in WeightModels (an
/// extension of the descriptor conforming to its builder protocol) and one line in
/// `ModelFamilies.all`. See Docs/MODELS.md, "Adding a family".
public protocol ModelFamily: Sendable {
    /// transformers' `model_type` values this family reads; the first is the one it writes.
    static var modelTypes: [String] { get }
    /// transformers' class named in `architectures` of a written config.json.
    static var huggingFaceClass: String? { get }
    /// llama.cpp's `general.architecture`, when llama.cpp knows the family.
    static var ggufArchitecture: String? { get }
    /// How the family's configuration keys are spelled, for errors.
    static var huggingFaceSpelling: KeySpelling { get }

    /// Reads a configuration of this family (`config.json`, or `params.json` for Meta's).
    static func architecture(huggingFace config: ConfigReader, origin: ModelArchitecture.Origin) throws -> ModelArchitecture
    /// Whether a GGUF file with this family's architecture name is this family's (families that
    /// share llama.cpp's name tell themselves apart by keys: Mistral is `llama` with a window).
    static func claims(gguf: GGUFKeys) -> Bool
    /// Reads GGUF metadata (and facts only the tensor list tells) of this family.
    static func architecture(gguf: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture
    /// The tensors a checkpoint of `architecture` holds, under Hugging Face and GGUF names.
    static func schema(_ architecture: ModelArchitecture) throws -> TensorSchema
    /// The keys llama.cpp's converter writes for the family (`general.*` and `{arch}.*`, without
    /// the tokenizer's), in its order.
    /// - Parameters:
    ///   - name: `general.name`.
    ///   - fileType: `general.file_type` (llama.cpp's `LLAMA_FTYPE`).
    static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList
    /// Whether llama.cpp's layout is defined for the family here (conversion both ways).
    static var writesGGUF: Bool { get }
    /// transformers' config.json for the description (what GGUF -> HF writes), with the weights'
    /// `torch_dtype`.
    static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject
    /// The configuration's file name in a model directory.
    static var configFileName: String { get }
    /// Tensors llama.cpp's converter computes from the configuration (`rope_freqs.weight`).
    static func generatedTensors(_ architecture: ModelArchitecture) -> [GeneratedTensor]
    /// Adds to `architecture` what llama.cpp's converter reads from the model directory besides
    /// the configuration, before a conversion to GGUF is planned (Gemma 3 cuts token_embd to its
    /// tokenizer's size: `TextStack.ggufVocabularySize`).
    /// - Parameter directory: the Hugging Face model directory.
    static func prepareForGGUF(_ architecture: inout ModelArchitecture, directory: String) throws
    /// Whether llama.cpp attends through the family's sliding window and sizes its KV cache by it
    /// (`llama_kv_cache_iswa`): Gemma 2 and Gemma 3. False for the others: Mistral, which
    /// llama.cpp reads as `llama`, Phi-3, whose window it disables, Qwen2 and Qwen3, whose
    /// llama.cpp architectures have no windows: it allocates and attends over the full context on
    /// every layer.
    static var llamaCppHonoursSlidingWindow: Bool { get }
}

/// A tensor a conversion computes rather than copies.
public struct GeneratedTensor: Sendable, Equatable {
    public var name: String
    public var values: [Float]

    public init(name: String, values: [Float]) {
        self.name = name
        self.values = values
    }
}

extension ModelFamily {
    public static var huggingFaceClass: String? { nil }
    public static var ggufArchitecture: String? { nil }
    public static var huggingFaceSpelling: KeySpelling { .huggingFace }
    public static func claims(gguf: GGUFKeys) -> Bool { true }
    public static var writesGGUF: Bool { false }
    public static var configFileName: String { "config.json" }
    public static func generatedTensors(_ architecture: ModelArchitecture) -> [GeneratedTensor] { [] }
    public static func prepareForGGUF(_ architecture: inout ModelArchitecture, directory: String) throws {}
    public static var llamaCppHonoursSlidingWindow: Bool { false }

    /// The name this family is known by in messages.
    public static var name: String { modelTypes[0] }

    public static func architecture(gguf: GGUFKeys, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        throw ArchitectureError.unsupportedModelType(file: gguf.file, modelType: gguf.prefix, supported: ModelFamilies.ggufArchitectures)
    }

    public static func ggufMetadata(_ architecture: ModelArchitecture, name: String, fileType: UInt32) throws -> GGUFMetadataList {
        throw ArchitectureError.notConvertible(modelType: architecture.modelType, format: "GGUF")
    }

    public static func huggingFaceConfig(_ architecture: ModelArchitecture, dtype: String) throws -> JSONObject {
        throw ArchitectureError.notConvertible(modelType: architecture.modelType, format: "a Hugging Face config.json")
    }
}

/// The families WeightKit knows, registered once. Everything that needs a family looks it up
/// here: by `model_type`, by GGUF architecture name, or from a description.
public enum ModelFamilies {
    /// Every family, in the order lookups try them (a family that claims a shared GGUF name
    /// under a condition comes before the one that takes it unconditionally).
    public static let all: [any ModelFamily.Type] = [
        Llama.self, Mistral.self, Qwen2.self, Qwen3.self, Qwen3MoE.self, Mixtral.self, Phi3.self,
        Gemma2.self, Gemma3Text.self, Gemma3.self,
        BERT.self, MetaMTP.self, ExpertLM.self,
        CLIP.self, SigLIP.self, LLaVA.self,
    ]

    /// Every `model_type` some family reads.
    public static var modelTypes: [String] { all.flatMap { $0.modelTypes } }

    /// Every GGUF architecture name some family reads.
    public static var ggufArchitectures: [String] {
        var names: [String] = []
        for family in all { if let name = family.ggufArchitecture, !names.contains(name) { names.append(name) } }
        return names
    }

    /// The family that reads `modelType`.
    public static func family(modelType: String) -> (any ModelFamily.Type)? {
        all.first { $0.modelTypes.contains(modelType) }
    }

    /// The family of a description.
    public static func family(of architecture: ModelArchitecture) throws -> any ModelFamily.Type {
        guard let family = family(modelType: architecture.modelType) else {
            throw ArchitectureError.unsupportedModelType(file: architecture.origin.path, modelType: architecture.modelType, supported: modelTypes)
        }
        return family
    }

    /// Reads a configuration file's JSON with the family its `model_type` names, then runs the
    /// validation rules.
    public static func architecture(huggingFace json: JSONValue, file: String, tensorCount: Int? = nil) throws -> ModelArchitecture {
        let config = try ConfigReader(json, file: file)
        let family: any ModelFamily.Type
        if config.has("dim") && config.has("n_layers") && !config.has("model_type") {
            // A config.json with Meta's params.json keys describes a Meta model.
            family = MetaMTP.self
        } else {
            let modelType = try config.string("model_type")
            guard let found = Self.family(modelType: modelType) else {
                throw ArchitectureError.unsupportedModelType(file: file, modelType: modelType, supported: modelTypes)
            }
            family = found
        }
        let architecture = try family.architecture(huggingFace: config, origin: .huggingFaceConfig(path: file))
        let composite = architecture.vision != nil && architecture.text != nil
        let spelling = composite ? family.huggingFaceSpelling.nested : family.huggingFaceSpelling
        try ArchitectureValidator(file: file, spelling: spelling, tensorCount: tensorCount).validate(architecture)
        return architecture
    }

    /// Reads a GGUF file's description with the family its `general.architecture` names, then
    /// runs the validation rules (bounded by the file's tensor count).
    public static func architecture(gguf file: GGUFFile) throws -> ModelArchitecture {
        try architecture(gguf: file, tensors: GGUFTensorIndex(file))
    }

    /// The same for metadata whose tensors are listed apart (a conversion's plan).
    public static func architecture(gguf file: GGUFFile, tensors: GGUFTensorIndex) throws -> ModelArchitecture {
        guard let arch = file.metadata.string("general.architecture") else {
            throw ArchitectureError.missingKey(file: file.file.path, key: "general.architecture")
        }
        let keys = GGUFKeys(metadata: file.metadata, prefix: arch, file: file.file.path)
        guard let family = all.first(where: { $0.ggufArchitecture == arch && $0.claims(gguf: keys) }) else {
            throw ArchitectureError.unsupportedModelType(file: file.file.path, modelType: arch, supported: ggufArchitectures)
        }
        let architecture = try family.architecture(gguf: keys, tensors: tensors)
        try ArchitectureValidator(file: file.file.path, spelling: .gguf(arch), tensorCount: tensors.count).validate(architecture)
        return architecture
    }
}

/// The tensor list of a GGUF file, for the facts only it tells (biases present, tied
/// embeddings, per-layer shapes), and the values of the small tables some families keep there
/// (Phi-3's `rope_factors_long`).
public struct GGUFTensorIndex: Sendable {
    public let shapes: [String: [Int]]
    public var count: Int { shapes.count }
    /// The file the shapes came from (nil for an index built from shapes alone).
    let file: GGUFFile?

    /// The most values `vector(_:)` decodes: a table of per-frequency factors, not a weight.
    public static let maxVectorLength = 1 << 16

    public init(_ file: GGUFFile) {
        shapes = Dictionary(file.tensorInfos.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        self.file = file
    }

    public init(shapes: [String: [Int]]) {
        self.shapes = shapes
        self.file = nil
    }

    public func contains(_ name: String) -> Bool { shapes[name] != nil }

    /// The values of the one-dimensional tensor `name` (at most `maxVectorLength` of them), or
    /// nil when the file has no such tensor or the index has no file.
    public func vector(_ name: String) throws -> [Float]? {
        guard let file, let view = file.tensorViews().first(where: { $0.name == name }) else { return nil }
        guard view.shape.count == 1, view.shape[0] <= Self.maxVectorLength else {
            throw ArchitectureError.invalidValue(
                file: file.file.path, key: name,
                reason: "has shape \(view.shape), expected one dimension of at most \(Self.maxVectorLength) values")
        }
        do {
            return try view.floats()
        } catch {
            throw ArchitectureError.invalidValue(file: file.file.path, key: name, reason: "cannot be decoded (\(error))")
        }
    }
}

extension ModelArchitecture.Origin {
    /// The file the description was read from.
    public var path: String {
        switch self {
        case .huggingFaceConfig(let path), .ggufMetadata(let path), .metaParams(let path): path
        }
    }
}
