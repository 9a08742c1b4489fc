import WeightFormats

/// What a conversion cannot do, naming the tensor, type or path concerned.
public enum ConversionError: Error, Equatable, Sendable, ArgumentDescribing {
    /// A model type the HF <-> GGUF maps do not cover.
    case unsupportedArchitecture(name: String, supported: [String])
    /// A requested type the destination format cannot store (a block type in safetensors).
    case typeNotStorable(type: String, format: String)
    /// A type name that is not one `convert` writes.
    case unknownType(name: String, supported: [String])
    /// A destination path whose format cannot be told from its name.
    case unsupportedDestination(path: String)
    /// A conversion between these two formats is not supported.
    case unsupportedRoute(from: String, to: String)
    /// A tensor that cannot be converted as asked.
    case tensorNotConvertible(tensor: String, reason: String)
    /// A stacked expert tensor with a missing expert.
    case missingExpert(tensor: String, expert: Int)
    /// A tokenizer.json or tokenizer_config.json that cannot be converted.
    case invalidTokenizer(file: String, reason: String)
    /// The tokenizer's encoding of llama.cpp's check text has a hash llama.cpp's converter does
    /// not know, so `tokenizer.ggml.pre` cannot be chosen (`ConversionOptions.preTokenizer`
    /// names it instead).
    case unknownPreTokenizer(file: String, hash: String)
    /// The architecture needs a configuration the source does not have.
    case missingConfiguration(path: String)
    /// `merge` asked to write another format than the source's.
    case mergeChangesFormat(from: String, to: String)
    /// Options that cannot be used together: `argument` with each of `conflicting`, or
    /// `argument` on a destination it cannot apply to (`conflicting` empty, `reason` says why).
    case incompatibleOptions(argument: APIArgument, conflicting: [APIArgument], reason: String)
    /// Tensors the configuration says the model has, absent from the checkpoint.
    case missingTensors(names: [String])
    /// A tensor whose shape disagrees with the configuration.
    case shapeMismatch(tensor: String, found: [Int], expected: [Int])
    /// What a conversion wrote does not describe the model it read.
    case writtenDescriptionDiffers(path: String, differences: [String])
    /// A quantised tensor would change type without `allowRequantize`.
    case requantizeNotAllowed(tensor: String, from: String, to: String)

    public func description(spelling: (APIArgument) -> String) -> String {
        switch self {
        case .unsupportedArchitecture(let name, let supported):
            return "architecture '\(name)' is not supported for conversion (supported: \(supported.joined(separator: ", ")))"
        case .typeNotStorable(let type, let format):
            return "\(format) cannot store \(type) tensors (use f32, f16 or bf16)"
        case .unknownType(let name, let supported):
            return "unknown type '\(name)' (expected one of \(supported.joined(separator: ", ")))"
        case .unsupportedDestination(let path):
            return "\(path): the destination must end in .gguf or .safetensors, or be a directory"
        case .unsupportedRoute(let from, let to):
            return "converting \(from) to \(to) is not supported"
        case .tensorNotConvertible(let tensor, let reason):
            return "tensor '\(tensor)': \(reason)"
        case .missingExpert(let tensor, let expert):
            return "tensor '\(tensor)': expert \(expert) is missing"
        case .invalidTokenizer(let file, let reason):
            return "\(file): \(reason)"
        case .unknownPreTokenizer(let file, let hash):
            return "\(file): llama.cpp's converter does not know this pre-tokenizer (sha256 of its check-text ids \(hash)); "
                + "name it with \(spelling(.preTokenizer)) (e.g. qwen2, llama-bpe, gpt-2, default)"
        case .missingConfiguration(let path):
            return "\(path): no config.json or params.json next to the weights"
        case .mergeChangesFormat(let from, let to):
            return "merge keeps the format: a \(from) checkpoint cannot be merged into \(to) (use convert)"
        case .incompatibleOptions(let argument, let conflicting, let reason):
            let others = conflicting.map(spelling)
            let list = others.count < 2 ? others.joined() : others.dropLast().joined(separator: ", ") + " and " + others[others.count - 1]
            return conflicting.isEmpty ? "\(spelling(argument)) \(reason)" : "\(spelling(argument)) \(reason): drop \(list)"
        case .missingTensors(let names):
            let listed = names.count <= 8 ? names.joined(separator: ", ") : names.prefix(8).joined(separator: ", ") + ", …"
            return "the checkpoint lacks \(names.count) tensor(s) its configuration describes: \(listed)"
        case .shapeMismatch(let tensor, let found, let expected):
            return "tensor '\(tensor)' has shape \(found), but the configuration describes \(expected)"
        case .writtenDescriptionDiffers(let path, let differences):
            return "\(path): the written configuration does not describe the source model (\(differences.joined(separator: "; "))); nothing was kept"
        case .requantizeNotAllowed(let tensor, let from, let to):
            return "tensor '\(tensor)' is already quantised (\(from)); requantising it to \(to) loses more than quantising from 16 or 32 bits, so it needs \(spelling(.allowRequantize))"
        }
    }
}
