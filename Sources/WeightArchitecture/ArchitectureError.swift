import WeightFormats

/// Problems with a model's configuration, naming the file and key.
public enum ArchitectureError: Error, Equatable, Sendable, CustomStringConvertible {
    case noConfiguration(path: String)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String)
    case invalidValue(file: String, key: String, reason: String)
    case unsupportedModelType(file: String, modelType: String, supported: [String])
    /// A hyper-parameter breaks one of `ArchitectureValidator`'s rules.
    case ruleViolated(file: String, key: String, value: String, rule: ArchitectureRule)
    /// The family has no representation in a format (a vision tower as GGUF metadata).
    case notConvertible(modelType: String, format: String)
    /// A hyper-parameter the destination format has no way to say (a Gemma
    /// `query_pre_attn_scalar` llama.cpp does not derive): the key as the source spells it,
    /// its value, and what the format can hold instead.
    case notRepresentable(key: String, value: String, representable: String, format: String)

    public var description: String {
        switch self {
        case .noConfiguration(let path):
            return "\(path): no config.json, params.json or GGUF metadata describes the model"
        case .missingKey(let file, let key): return "\(file): missing key '\(key)'"
        case .wrongType(let file, let key, let expected): return "\(file): '\(key)' must be \(expected)"
        case .invalidValue(let file, let key, let reason): return "\(file): '\(key)' \(reason)"
        case .unsupportedModelType(let file, let modelType, let supported):
            return "\(file): model type '\(modelType)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case .notConvertible(let modelType, let format):
            return "a '\(modelType)' model cannot be written as \(format)"
        case .notRepresentable(let key, let value, let representable, let format):
            return "'\(key)' is \(value), but \(format) can only express \(representable)"
        case .ruleViolated(let file, let key, let value, let rule):
            return "\(file): '\(key)' is \(value), but \(rule)"
        }
    }
}

