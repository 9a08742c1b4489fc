/// Why an adapter could not be read or applied; every case names the file, tensor or key.
public enum AdapterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Neither a PEFT directory, an MLX adapter directory nor an adapter GGUF.
    case notAnAdapter(path: String, reason: String)
    /// `adapter_config.json` is absent from a directory holding adapter weights.
    case missingConfiguration(path: String)
    /// A configuration key is missing or has the wrong type or value.
    case invalidConfiguration(path: String, key: String, reason: String)
    /// A feature WeightKit refuses rather than ignores (aLoRA, `trainable_token_indices`...).
    case unsupportedFeature(path: String, feature: String)
    /// A tensor the adapter formats do not define (`lora_B` biases, unknown names).
    case unknownTensor(path: String, tensor: String)
    /// A `lora_A` without its `lora_B`, or the reverse.
    case unpairedTensor(path: String, tensor: String, missing: String)
    /// A tensor whose shape is not what its role needs (rank 0, A and B ranks differ...).
    case invalidShape(tensor: String, shape: [Int], reason: String)
    /// An adapter module whose shapes do not fit the base's weight: the adapter's tensor, the
    /// `[out, in]` its A and B make, the base tensor and its shape.
    case shapeMismatch(tensor: String, adapterShape: [Int], baseTensor: String, baseShape: [Int])
    /// A module the adapter targets that the base model does not have.
    case unmatchedModule(module: String, model: String)
    /// No module of the adapter matches any module of the base.
    case noMatchingTarget(adapter: String, model: String)
    /// A kind of adapter that cannot be applied the way it was asked for.
    case notApplicable(adapter: String, reason: String)

    public var description: String {
        switch self {
        case .notAnAdapter(let path, let reason): return "\(path) is not a LoRA adapter: \(reason)"
        case .missingConfiguration(let path): return "\(path): no adapter_config.json beside the adapter weights"
        case .invalidConfiguration(let path, let key, let reason): return "\(path): '\(key)' \(reason)"
        case .unsupportedFeature(let path, let feature): return "\(path): \(feature) is not supported"
        case .unknownTensor(let path, let tensor): return "\(path): unknown adapter tensor '\(tensor)'"
        case .unpairedTensor(let path, let tensor, let missing): return "\(path): '\(tensor)' has no '\(missing)'"
        case .invalidShape(let tensor, let shape, let reason): return "adapter tensor '\(tensor)' \(Self.text(shape)): \(reason)"
        case .shapeMismatch(let tensor, let adapterShape, let baseTensor, let baseShape):
            return "adapter tensor '\(tensor)' makes an update of \(Self.text(adapterShape)), but the base's '\(baseTensor)' is \(Self.text(baseShape))"
        case .unmatchedModule(let module, let model): return "the adapter targets '\(module)', which the \(model) base does not have"
        case .noMatchingTarget(let adapter, let model): return "\(adapter): no target module matches any module of the \(model) base"
        case .notApplicable(let adapter, let reason): return "\(adapter): \(reason)"
        }
    }

    static func text(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
