import CKernels
import WeightFormats

/// The hyper-parameters llama.cpp's quantiser reads (llama_hparams as `llama_model::load_hparams`
/// fills them from GGUF metadata): the architecture name, the block count, the expert count, the
/// attention heads of layer 0, and the model-size class that only matters for LLM_TYPE_70B.
public struct QuantizationModelParameters: Sendable, Hashable {
    public var architecture: String
    public var layerCount: Int
    public var expertCount: Int
    public var headCount: Int
    public var headCountKV: Int

    public init(architecture: String, layerCount: Int, expertCount: Int = 0, headCount: Int, headCountKV: Int? = nil) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.expertCount = expertCount
        self.headCount = headCount
        self.headCountKV = headCountKV ?? headCount
    }

    /// Reads `general.architecture`, `<arch>.block_count`, `<arch>.expert_count` (default 0),
    /// `<arch>.attention.head_count` and `.head_count_kv` (default: head_count; per-layer arrays
    /// give layer 0's value) from GGUF metadata.
    public init(metadata: GGUFMetadata) throws {
        try self.init(architecture: metadata["general.architecture"]?.stringValue) { key in
            guard let value = metadata[key] else { return .absent }
            if let items = value.arrayValue { return items.first.map { .value($0.intValue) } ?? .emptyArray }
            return .value(value.intValue)
        }
    }

    /// The same keys from metadata being assembled (a conversion's output).
    public init(metadata: GGUFMetadataList) throws {
        try self.init(architecture: metadata["general.architecture"]?.stringValue) { key in
            guard let value = metadata[key] else { return .absent }
            switch value {
            case .array(_, let elements): return elements.first.map { .value($0.intValue) } ?? .emptyArray
            case .copied(let copied):
                if let items = copied.arrayValue { return items.first.map { .value($0.intValue) } ?? .emptyArray }
                return .value(copied.intValue)
            default: return .value(value.intValue)
            }
        }
    }

    enum Lookup { case absent, emptyArray, value(Int?) }

    init(architecture: String?, lookup: (String) -> Lookup) throws {
        guard let architecture else { throw QuantizationPlanError.missingKey("general.architecture") }
        func integer(_ suffix: String, required: Bool) throws -> Int? {
            let key = "\(architecture).\(suffix)"
            switch lookup(key) {
            case .absent:
                if required { throw QuantizationPlanError.missingKey(key) }
                return nil
            case .emptyArray:
                throw QuantizationPlanError.invalidKey(key, reason: "an empty array")
            case .value(let number):
                guard let number, number >= 0, number <= 1 << 24 else { throw QuantizationPlanError.invalidKey(key, reason: "not a count") }
                return number
            }
        }
        let layers = try integer("block_count", required: true) ?? 0
        guard layers > 0, layers <= 512 else { throw QuantizationPlanError.invalidKey("\(architecture).block_count", reason: "must be 1...512") }
        let heads = try integer("attention.head_count", required: false) ?? 0
        self.init(
            architecture: architecture, layerCount: layers, expertCount: try integer("expert_count", required: false) ?? 0,
            headCount: heads, headCountKV: try integer("attention.head_count_kv", required: false) ?? heads)
    }

    /// n_head / n_head_kv (0 without key-value heads).
    public var groupedQueryFactor: Int { headCountKV == 0 ? 0 : headCount / headCountKV }

    /// Whether llama.cpp classes the model as LLM_TYPE_70B (the only size its quantiser looks
    /// at): 80 layers for llama (with grouped-query attention), deci, olmo and qwen2; 68 for jais2.
    public var isSeventyB: Bool {
        switch architecture {
        case "llama": return layerCount == 80 && headCount != headCountKV
        case "deci", "olmo", "qwen2": return layerCount == 80
        case "jais2": return layerCount == 68
        default: return false
        }
    }
}

/// A tensor as the quantiser sees it.
public struct QuantizationInput: Sendable, Hashable {
    public var name: String
    /// Outermost dimension first, the row length last (as WeightKit's tensor views).
    public var shape: [Int]
    public var type: GGMLType

    public init(name: String, shape: [Int], type: GGMLType) {
        self.name = name
        self.shape = shape
        self.type = type
    }

    /// ggml's ne[i]: dimension i counted from the row length.
    func extent(_ i: Int) -> Int { i < shape.count ? shape[shape.count - 1 - i] : 1 }
    /// ggml_n_dims: trailing dimensions of 1 do not count.
    var dimensionCount: Int {
        for i in stride(from: 3, through: 1, by: -1) where extent(i) > 1 { return i + 1 }
        return 1
    }
    var elementCount: Int { shape.reduce(1, *) }
    var rowLength: Int { extent(0) }
}

/// A --tensor-type override: a pattern matched anywhere in tensor names (ECMAScript regular
/// expression, llama-quantize lower-cases it) and the type it gives.
public final class TensorTypeOverride: @unchecked Sendable {
    public let pattern: String
    public let type: GGMLType
    private let compiled: OpaquePointer

    /// - Throws: `QuantizationPlanError.invalidPattern` when `pattern` (lower-cased) is not a
    ///   valid ECMAScript regular expression.
    public init(pattern: String, type: GGMLType) throws {
        let lowered = pattern.lowercased()
        var message = [CChar](repeating: 0, count: 256)
        guard let regex = wk_regex_compile(lowered, &message, message.count) else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw QuantizationPlanError.invalidPattern(pattern: pattern, reason: reason)
        }
        self.pattern = lowered
        self.type = type
        self.compiled = regex
    }

    deinit { wk_regex_free(compiled) }

    /// std::regex_search of the tensor name (a matcher failure counts as no match).
    public func matches(_ name: String) -> Bool { wk_regex_search(compiled, name) == 1 }
}

/// What llama-quantize's options say about the choice of types.
public struct QuantizationOptions: Sendable {
    /// --pure: the default type everywhere except where an override names another.
    public var pure = false
    /// false for --leave-output-tensor.
    public var quantizeOutputTensor = true
    public var tokenEmbeddingType: GGMLType?
    public var outputTensorType: GGMLType?
    /// --tensor-type, in command-line order (the first match wins).
    public var tensorTypes: [TensorTypeOverride] = []
    /// Whether an importance matrix is given (some rules depend on it).
    public var hasImportance = false

    public init() {}
}

/// The decision for one tensor.
public struct TensorQuantization: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var from: GGMLType
    public var to: GGMLType
    /// Whether llama.cpp considers the tensor for quantisation at all (2-3 dims, `*weight`, ...).
    public var quantizable: Bool
    /// Whether this tensor cannot be quantised to `to` without an importance matrix.
    public var requiresImportance: Bool
    /// Whether the shape forced a fallback type.
    public var fallback: Bool
    /// Bytes of the tensor as written.
    public var byteCount: Int
    /// Bytes of the tensor as read.
    public var inputByteCount: Int

    /// Whether the data is converted (a different type) rather than copied.
    public var converts: Bool { from != to }
}

/// Every tensor's decision, in the order llama-quantize visits and writes them (by block number,
/// then by name; tensors outside blocks first).
public struct QuantizationPlan: Sendable {
    public var target: QuantizationTarget
    public var tensors: [TensorQuantization]
    /// The `general.file_type` the output carries.
    public var fileType: UInt32
    public var fallbackCount: Int { tensors.filter(\.fallback).count }
    /// Whether any quantisable tensor needs an importance matrix.
    public var requiresImportance: Bool { tensors.contains { $0.quantizable && $0.requiresImportance } }
    public var bytesIn: Int { tensors.reduce(0) { $0 + $1.inputByteCount } }
    public var bytesOut: Int { tensors.reduce(0) { $0 + $1.byteCount } }
    /// Output bits per element of the whole model.
    public var bitsPerWeight: Double {
        let elements = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        return elements == 0 ? 0 : Double(bytesOut) * 8 / Double(elements)
    }
}

/// Why a plan cannot be made.
public enum QuantizationPlanError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingKey(String)
    case invalidKey(String, reason: String)
    case invalidPattern(pattern: String, reason: String)
    /// A shape fallback llama.cpp does not define (a row that is not whole blocks of a type with
    /// blocks larger than 32 and no smaller sibling).
    case noFallback(tensor: String, type: String)
    /// A per-layer rule met a tensor name without a valid block number (mixtures of experts).
    case layerNotFound(tensor: String, layerCount: Int)
    /// An output type that cannot hold the tensor's rows.
    case notWholeBlocks(tensor: String, type: String, rowLength: Int)
    /// A type without a size in the registry.
    case unsizedType(tensor: String, type: String)

    public var description: String {
        switch self {
        case .missingKey(let key): return "metadata key '\(key)' is missing"
        case .invalidKey(let key, let reason): return "metadata key '\(key)': \(reason)"
        case .invalidPattern(let pattern, let reason): return "tensor type pattern '\(pattern)' is not a valid regular expression: \(reason)"
        case .noFallback(let tensor, let type): return "tensor '\(tensor)': its rows are not whole \(type) blocks and no fallback type is defined for \(type)"
        case .layerNotFound(let tensor, let layerCount): return "tensor '\(tensor)': no block number in 0..<\(layerCount) in its name"
        case .notWholeBlocks(let tensor, let type, let rowLength): return "tensor '\(tensor)': rows of \(rowLength) values are not whole \(type) blocks"
        case .unsizedType(let tensor, let type): return "tensor '\(tensor)': type \(type) has no size"
        }
    }
}
