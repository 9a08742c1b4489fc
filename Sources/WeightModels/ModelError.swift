import WeightFormats

/// Why a model could not be built or run, with every offending tensor named at once.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Strict binding failed: the checkpoint does not hold exactly the tensors the architecture
    /// needs, with the shapes it needs.
    case binding(model: String, missing: [String], unexpected: [String], misshaped: [String])
    case unsupportedModel(modelType: String, reason: String)
    case unsupportedTensorType(tensor: String, dtype: String)
    case invalidToken(token: Int, vocabularySize: Int)
    case contextExceeded(length: Int, capacity: Int)
    /// A prompt and the tokens to generate after it do not fit the context.
    case contextTooSmall(prompt: Int, generate: Int, context: Int)
    /// Without a token count, the prompt alone fills the context.
    case promptFillsContext(prompt: Int, context: Int)
    /// `GenerationLimits.context` is larger than the model was trained for.
    case contextBeyondTrained(requested: Int, trained: Int)
    case invalidArgument(String)
    /// Something a model would allocate exceeds what this machine can hold.
    case tooLarge(what: String, bytes: Int)
    /// A sentence-transformers module (modules.json) or module setting WeightKit does not run.
    case unsupportedModule(file: String, module: String, reason: String)
    /// A language model was asked of an encoder family (BERT), which `ModelRegistry.loadEncoder`
    /// and `SentenceEmbedder` load.
    case encoderOnly(modelType: String)
    /// `texts[index]` has more tokens than the model's position table, and no
    /// `maxSequenceLength` cuts it.
    case textTooLong(index: Int, tokens: Int, positions: Int)
    /// Unpooled embeddings (`pooling: .none`) of texts whose token counts differ.
    case unequalTokenCounts([Int])

    public var description: String {
        switch self {
        case .binding(let model, let missing, let unexpected, let misshaped):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("missing \(missing.count): " + Self.list(missing)) }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count): " + Self.list(unexpected)) }
            if !misshaped.isEmpty { parts.append("wrong shape \(misshaped.count): " + Self.list(misshaped)) }
            return "the checkpoint does not match a \(model) model: " + parts.joined(separator: "; ")
        case .unsupportedModel(let modelType, let reason): return "cannot run a '\(modelType)' model: \(reason)"
        case .unsupportedTensorType(let tensor, let dtype): return "tensor '\(tensor)' has type \(dtype), which cannot be computed with"
        case .invalidToken(let token, let vocabularySize): return "token id \(token) is outside the vocabulary (0..<\(vocabularySize))"
        case .contextExceeded(let length, let capacity): return "\(length) tokens exceed the context of \(capacity)"
        case .contextTooSmall(let prompt, let generate, let context):
            return "\(prompt) prompt tokens + \(generate) to generate exceed the context of \(context) tokens"
        case .promptFillsContext(let prompt, let context):
            return "the prompt's \(prompt) tokens leave no room to generate in the context of \(context) tokens"
        case .contextBeyondTrained(let requested, let trained):
            return "a context of \(requested) tokens is larger than the model's trained context of \(trained)"
        case .invalidArgument(let message): return message
        case .tooLarge(let what, let bytes):
            return bytes == Int.max ? "\(what) is too large to allocate"
                : "\(what) needs \(bytes) bytes, more than this machine's \(MappedFile.physicalMemory) bytes of memory"
        case .unsupportedModule(let file, let module, let reason): return "\(file): module '\(module)' is not supported: \(reason)"
        case .encoderOnly(let modelType):
            return "'\(modelType)' is an encoder, not a language model: load it with ModelRegistry.loadEncoder or SentenceEmbedder"
        case .textTooLong(let index, let tokens, let positions):
            return "texts[\(index)] has \(tokens) tokens, more than the \(positions) positions of the model, and no max_seq_length cuts it"
        case .unequalTokenCounts(let counts):
            return "unpooled embeddings need texts of equal token counts; the texts have " + counts.map(String.init).joined(separator: ", ")
        }
    }

    static func list(_ names: [String]) -> String {
        names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", …"
    }
}
