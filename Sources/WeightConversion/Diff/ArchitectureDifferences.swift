import WeightArchitecture
import WeightFormats

/// One field that differs between the two sides' descriptions or metadata.
public struct MetadataDifference: Sendable, Equatable {
    /// `text.hiddenSize`, `text.positions.rotary.theta`, or a GGUF key / config.json field.
    public let key: String
    /// The value on each side; nil when the side has no such field.
    public let a: String?
    public let b: String?
}

/// Compares what two checkpoints say about the model. The typed description (`ModelArchitecture`,
/// read from config.json or GGUF metadata) is flattened to dotted field paths, so a GGUF key and
/// the config.json field it comes from meet under one name. Floating-point fields agree when
/// they differ by at most 1e-6 relative (GGUF stores them as float32). Where the description
/// was read from does not count, nor the storage dtype (tensors report their own types).
enum ArchitectureDifferences {
    static let ignoredFields: Set<String> = ["origin", "storageDType"]

    static func compare(_ a: ModelArchitecture, _ b: ModelArchitecture) -> [MetadataDifference] {
        var left: [(String, Any)] = [], right: [(String, Any)] = []
        flatten(a, path: "", into: &left)
        flatten(b, path: "", into: &right)
        return differences(left, right)
    }

    /// Raw GGUF keys, when both sides are GGUF files (tensor-data layout keys excluded).
    static func compare(_ a: GGUFMetadata, _ b: GGUFMetadata) -> [MetadataDifference] {
        let skip: (String) -> Bool = { $0.hasPrefix("split.") }
        var result: [MetadataDifference] = []
        var keysB: [String: GGUFValue] = [:]
        for entry in b.entries where !skip(entry.key) { keysB[entry.key] = entry.value }
        var seen = Set<String>()
        for entry in a.entries where !skip(entry.key) {
            seen.insert(entry.key)
            let left = render(entry.value)
            let right = keysB[entry.key].map(render)
            if left != right { result.append(MetadataDifference(key: entry.key, a: left, b: right)) }
        }
        for entry in b.entries where !skip(entry.key) && !seen.contains(entry.key) {
            result.append(MetadataDifference(key: entry.key, a: nil, b: render(entry.value)))
        }
        return result
    }

    /// A GGUF value as text: scalars as written, strings quoted, arrays by type, length and a
    /// hash of their elements.
    static func render(_ value: GGUFValue) -> String {
        switch value {
        case .string(let string): return "\"\(string)\""
        case .array(let array):
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            func mix(_ bytes: UnsafeRawBufferPointer) {
                for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                hash = (hash ^ 0xff) &* 0x100_0000_01b3
            }
            for index in 0..<array.count {
                if let string = array.string(at: index) {
                    mix(string.bytes)
                } else {
                    Array(render(array[index]).utf8).withUnsafeBytes { mix($0) }
                }
            }
            let digits = String(hash, radix: 16)
            return "\(value.typeName) of \(array.count) (fnv1a \(String(repeating: "0", count: 16 - digits.count) + digits))"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return value.intValue.map(String.init) ?? "\(value)"
        }
    }

    private static func flatten(_ value: Any, path: String, into fields: inout [(String, Any)]) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let wrapped = mirror.children.first { flatten(wrapped.value, path: path, into: &fields) }
        case .struct, .class:
            for child in mirror.children {
                guard let label = child.label, !ignoredFields.contains(label) else { continue }
                flatten(child.value, path: path.isEmpty ? label : path + "." + label, into: &fields)
            }
        case .enum where !mirror.children.isEmpty:
            for child in mirror.children {
                flatten(child.value, path: path + "." + (child.label ?? "value"), into: &fields)
            }
        case .dictionary:
            let entries = mirror.children.compactMap { $0.value as? (key: String, value: Double) }
            for entry in entries.sorted(by: { $0.key < $1.key }) {
                fields.append((path + "." + entry.key, entry.value))
            }
        default:
            fields.append((path, value))
        }
    }

    private static func differences(_ left: [(String, Any)], _ right: [(String, Any)]) -> [MetadataDifference] {
        let rightByKey = Dictionary(right, uniquingKeysWith: { first, _ in first })
        var result: [MetadataDifference] = []
        var seen = Set<String>()
        for (key, value) in left {
            seen.insert(key)
            guard let other = rightByKey[key] else {
                result.append(MetadataDifference(key: key, a: describe(value), b: nil))
                continue
            }
            if !agree(value, other) { result.append(MetadataDifference(key: key, a: describe(value), b: describe(other))) }
        }
        for (key, value) in right where !seen.contains(key) {
            result.append(MetadataDifference(key: key, a: nil, b: describe(value)))
        }
        return result
    }

    private static func agree(_ x: Any, _ y: Any) -> Bool {
        if let a = x as? Double, let b = y as? Double {
            return a == b || abs(a - b) <= 1e-6 * max(abs(a), abs(b))
        }
        return describe(x) == describe(y)
    }

    private static func describe(_ value: Any) -> String {
        if let double = value as? Double { return JSONWriter.format(double) }
        return String(describing: value)
    }
}
