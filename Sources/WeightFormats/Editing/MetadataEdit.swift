/// One change to a file's metadata, as `weightkit meta` takes it: `--set KEY=VALUE`,
/// `--set KEY:TYPE=VALUE` (TYPE in gguf-py's names: UINT8 ... FLOAT64, BOOL, STRING) or
/// `--delete KEY`.
///
/// Without TYPE an existing key keeps its type; a new key needs one (`--set my.key:UINT32=7`),
/// since "7" could be any of eight integer types or a string. Arrays cannot be set.
public enum MetadataEdit: Equatable, Sendable {
    case set(key: String, type: GGUFValueType?, value: String)
    case delete(key: String)

    public var key: String {
        switch self {
        case .set(let key, _, _), .delete(let key): key
        }
    }

    /// Parses `KEY=VALUE` or `KEY:TYPE=VALUE` (the text before the first `=`; TYPE after its
    /// last `:`).
    public static func parseSet(_ text: String) throws -> MetadataEdit {
        guard let equals = text.firstIndex(of: "=") else { throw MetadataEditError.malformedSet(text: text) }
        var key = String(text[..<equals])
        let value = String(text[text.index(after: equals)...])
        var type: GGUFValueType?
        if let colon = key.lastIndex(of: ":") {
            let typeName = String(key[key.index(after: colon)...])
            key = String(key[..<colon])
            guard let parsed = GGUFValueType(name: typeName), parsed != .array else {
                throw MetadataEditError.unknownType(key: key, name: typeName)
            }
            type = parsed
        }
        guard !key.isEmpty else { throw MetadataEditError.malformedSet(text: text) }
        return .set(key: key, type: type, value: value)
    }

    /// The GGUF value `text` denotes as `type`.
    ///
    /// - Throws: `.invalidValue` for text that is not a number of that type, out of its range,
    ///   or not `true`/`false`; `.unknownType` for ARRAY.
    public static func value(_ text: String, as type: GGUFValueType, key: String) throws -> GGUFMetadataValue {
        func bad(_ reason: String) -> MetadataEditError {
            .invalidValue(key: key, type: type.name, value: text, reason: reason)
        }
        func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let value = T(text) else {
                throw bad(Int64(text) != nil || UInt64(text) != nil ? "out of range \(T.min)...\(T.max)" : "not an integer")
            }
            return value
        }
        switch type {
        case .uint8: return .uint8(try integer(UInt8.self))
        case .int8: return .int8(try integer(Int8.self))
        case .uint16: return .uint16(try integer(UInt16.self))
        case .int16: return .int16(try integer(Int16.self))
        case .uint32: return .uint32(try integer(UInt32.self))
        case .int32: return .int32(try integer(Int32.self))
        case .uint64: return .uint64(try integer(UInt64.self))
        case .int64: return .int64(try integer(Int64.self))
        case .float32:
            guard let value = Float(text) else { throw bad("not a number") }
            guard value.isFinite || Double(text)?.isFinite != true else { throw bad("out of FLOAT32 range") }
            return .float32(value)
        case .float64:
            guard let value = Double(text) else { throw bad("not a number") }
            return .float64(value)
        case .bool:
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw bad("expected true or false")
            }
        case .string: return .string(text)
        case .array: throw MetadataEditError.unknownType(key: key, name: type.name)
        }
    }
}

/// Metadata edits that cannot be made, naming the key and what was wrong.
public enum MetadataEditError: Error, Equatable, Sendable, ArgumentDescribing {
    /// `--set` text without `=` or with an empty key.
    case malformedSet(text: String)
    /// A TYPE that is not one of gguf-py's scalar type names.
    case unknownType(key: String, name: String)
    /// A value that does not parse as its type.
    case invalidValue(key: String, type: String, value: String, reason: String)
    /// A new key given without a type.
    case typeRequired(key: String)
    /// A key holding an array, which `--set` cannot replace.
    case arrayNotEditable(key: String)
    /// `--delete` of a key the file does not have.
    case keyNotFound(key: String, path: String)
    /// A type the format cannot store (safetensors metadata holds strings only).
    case typeNotStorable(key: String, type: String, format: String)
    /// A file whose layout an edit cannot keep (a big-endian GGUF).
    case unsupportedFile(path: String, reason: String)

    public func description(spelling: (APIArgument) -> String) -> String {
        let set = spelling(.metadataSet), delete = spelling(.metadataDelete)
        switch self {
        case .malformedSet(let text):
            return "\(set) '\(text)': expected KEY=VALUE or KEY:TYPE=VALUE"
        case .unknownType(let key, let name):
            return "\(set) \(key): unknown type '\(name)' (expected one of \(GGUFValueType.allCases.filter { $0 != .array }.map(\.name).joined(separator: ", ")))"
        case .invalidValue(let key, let type, let value, let reason):
            return "\(set) \(key): '\(value)' is not a valid \(type): \(reason)"
        case .typeRequired(let key):
            return "\(set) \(key): a new key needs a type, e.g. \(set) \(key):STRING=..."
        case .arrayNotEditable(let key):
            return "\(set) \(key): the key holds an array, which cannot be set"
        case .keyNotFound(let key, let path):
            return "\(delete) \(key): \(path) has no such key"
        case .typeNotStorable(let key, let type, let format):
            return "\(set) \(key): \(format) metadata holds strings only, not \(type)"
        case .unsupportedFile(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
