import WeightFormats

/// Problems with a budget request, naming the argument or value at fault.
public enum BudgetError: Error, Equatable, Sendable, ArgumentDescribing {
    /// A context length that is not a positive integer.
    case invalidContext(String)
    /// A KV-cache type llama.cpp cannot store a cache in.
    case unsupportedCacheType(argument: APIArgument, name: String, supported: [String])
    /// A size such as "16GiB" that does not parse.
    case invalidSize(argument: APIArgument, text: String, reason: String)
    /// A value that must be positive (`parallel`, `loraRank`, `bandwidth`...).
    case notPositive(argument: APIArgument, value: String)
    /// A LoRA target that is not one of q, k, v, o, gate, up, down.
    case unknownLoRATarget(String, supported: [String])
    /// A LoRA target the model does not have (`gate` on a two-layer FFN).
    case loRATargetMissing(target: String, modelType: String)
    /// A cache row that is not a whole number of the cache type's blocks.
    case cacheRowNotBlockAligned(type: String, layer: Int, rowLength: Int, blockSize: Int)
    /// A request the model cannot answer (KV cache of an encoder, LoRA of a vision tower).
    case notApplicable(argument: APIArgument, modelType: String, reason: String)
    /// A figure that does not fit in 64 bits (a context of 2^62 tokens).
    case overflow(what: String)
    /// A requested count beyond what a budget can mean.
    case tooLarge(argument: APIArgument, value: Int, limit: Int)

    public func description(spelling: (APIArgument) -> String) -> String {
        switch self {
        case .invalidContext(let text):
            return "\(spelling(.contexts)): '\(text)' is not a positive context length (give integers, e.g. 4096,32768)"
        case .unsupportedCacheType(let argument, let name, let supported):
            return "\(spelling(argument)): '\(name)' is not a KV-cache type (supported: \(supported.joined(separator: ", ")))"
        case .invalidSize(let argument, let text, let reason):
            return "\(spelling(argument)): '\(text)' \(reason) (sizes: 512, 16G, 1.5T in powers of 1000; 8GiB, 512MiB in powers of 1024)"
        case .notPositive(let argument, let value):
            return "\(spelling(argument)): '\(value)' must be a positive number"
        case .unknownLoRATarget(let name, let supported):
            return "\(spelling(.loraTargets)): '\(name)' is not a target (supported: \(supported.joined(separator: ", ")))"
        case .loRATargetMissing(let target, let modelType):
            return "\(spelling(.loraTargets)): '\(target)' has no layer in a \(modelType) model"
        case .cacheRowNotBlockAligned(let type, let layer, let rowLength, let blockSize):
            return "KV cache type \(type): layer \(layer) stores rows of \(rowLength) values, not a multiple of its block size \(blockSize)"
        case .notApplicable(let argument, let modelType, let reason):
            return "\(spelling(argument)): not available for a \(modelType) model (\(reason))"
        case .overflow(let what):
            return "\(what) does not fit in a 64-bit integer"
        case .tooLarge(let argument, let value, let limit):
            return "\(spelling(argument)): \(value) is more than \(limit)"
        }
    }
}

/// Budget arithmetic on numbers from users and files: an overflow is an error, not a trap.
enum Checked {
    static func multiply(_ values: Int..., what: String) throws -> Int {
        var total = 1
        for value in values {
            let (product, overflow) = total.multipliedReportingOverflow(by: value)
            guard !overflow else { throw BudgetError.overflow(what: what) }
            total = product
        }
        return total
    }

    static func add(_ a: Int, _ b: Int, what: String) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw BudgetError.overflow(what: what) }
        return sum
    }
}

/// The arguments of a budget that errors name.
extension APIArgument {
    public static let contexts = APIArgument("BudgetRequest.contexts")
    public static let cacheTypeK = APIArgument("BudgetRequest.cacheTypeK")
    public static let cacheTypeV = APIArgument("BudgetRequest.cacheTypeV")
    public static let parallel = APIArgument("BudgetRequest.parallel")
    public static let loraRank = APIArgument("BudgetRequest.loraRank")
    public static let loraTargets = APIArgument("BudgetRequest.loraTargets")
    public static let images = APIArgument("BudgetRequest.images")
    public static let frames = APIArgument("BudgetRequest.frames")
    public static let memory = APIArgument("BudgetRequest.memory")
    public static let bandwidth = APIArgument("BudgetRequest.bandwidth")
}
