/// A metadata value to be written into a GGUF file.
///
/// Values are owned (`.string`, `.array`...) or copied from another GGUF file (`.copied`): a
/// copied array is written byte for byte from that file's mapping, so a 151,936-token vocabulary
/// moves from one file to another without becoming 151,936 Swift strings.
public indirect enum GGUFMetadataValue: Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string(String)
    /// A string given as raw bytes (tokens copied from files in the wild need not be UTF-8).
    case bytes([UInt8])
    /// An array whose elements all have type `elementType`.
    case array(elementType: GGUFValueType, elements: [GGUFMetadataValue])
    /// A value stored in another (validated) GGUF file.
    case copied(GGUFValue)

    /// The value's GGUF type.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string, .bytes: .string
        case .array: .array
        case .copied(let value): value.type
        }
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> GGUFMetadataValue {
        .array(elementType: .string, elements: values.map { .string($0) })
    }

    /// An array of INT32.
    public static func int32s(_ values: [Int32]) -> GGUFMetadataValue {
        .array(elementType: .int32, elements: values.map { .int32($0) })
    }

    /// An array of FLOAT32.
    public static func float32s(_ values: [Float]) -> GGUFMetadataValue {
        .array(elementType: .float32, elements: values.map { .float32($0) })
    }

    /// The value as an integer, for the integer types (copied values too).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        case .copied(let value): value.intValue
        default: nil
        }
    }

    /// The value as a Double, for the numeric types.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        case .copied(let value): value.doubleValue
        default: intValue.map(Double.init)
        }
    }

    /// The string (U+FFFD for invalid UTF-8), for strings.
    public var stringValue: String? {
        switch self {
        case .string(let s): s
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        case .copied(let value): value.stringValue
        default: nil
        }
    }

    public var boolValue: Bool? {
        switch self {
        case .bool(let b): b
        case .copied(let value): value.boolValue
        default: nil
        }
    }
}

/// GGUF metadata being assembled for writing: keys in insertion order, each at most once.
public struct GGUFMetadataList: Sendable, Sequence {
    public private(set) var entries: [(key: String, value: GGUFMetadataValue)] = []
    private var index: [String: Int] = [:]

    public init() {}

    /// Every entry of a GGUF file's metadata, copied (strings and arrays stay in its mapping).
    public init(copying metadata: GGUFMetadata) {
        for entry in metadata.entries { self[entry.key] = .copied(entry.value) }
    }

    /// The value for `key`; setting nil removes the key, setting an existing key replaces its
    /// value in place (the key keeps its position).
    public subscript(key: String) -> GGUFMetadataValue? {
        get { index[key].map { entries[$0].value } }
        set {
            if let position = index[key] {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    entries.remove(at: position)
                    index = [:]
                    for (i, entry) in entries.enumerated() { index[entry.key] = i }
                }
            } else if let newValue {
                index[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    public func contains(_ key: String) -> Bool { index[key] != nil }
    public var keys: [String] { entries.map(\.key) }
    public var count: Int { entries.count }

    /// Removes every key for which `predicate` is true.
    public mutating func removeAll(where predicate: (String) -> Bool) {
        entries.removeAll { predicate($0.key) }
        index = [:]
        for (i, entry) in entries.enumerated() { index[entry.key] = i }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: GGUFMetadataValue)]> {
        entries.makeIterator()
    }
}

/// Serialises GGUF header fields, little-endian.
struct GGUFEncoder {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(string: some Collection<UInt8>) {
        append(UInt64(string.count))
        bytes.append(contentsOf: string)
    }

    /// Appends a key's value (without the type field) after checking arrays' element types.
    mutating func append(value: GGUFMetadataValue, key: String) throws {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .float64(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let s): append(string: s.utf8)
        case .bytes(let b): append(string: b)
        case .array(let elementType, let elements):
            append(elementType.rawValue)
            append(UInt64(elements.count))
            for element in elements {
                guard element.type == elementType else {
                    throw WriterError.arrayElementType(key: key, expected: elementType.name, found: element.type.name)
                }
                try append(value: element, key: key)
            }
        case .copied(let value):
            try append(copied: value, key: key)
        }
    }

    /// A value from another file: little-endian arrays are copied as stored; big-endian values
    /// are re-encoded element by element.
    mutating func append(copied value: GGUFValue, key: String) throws {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .float64(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let s): append(string: s.bytes)
        case .array(let array):
            append(array.elementType.rawValue)
            append(UInt64(array.count))
            if array.byteOrder == .littleEndian {
                let start = array.file.bytes.baseAddress! + array.offset
                bytes.append(contentsOf: UnsafeRawBufferPointer(start: start, count: array.endOffset - array.offset))
            } else if array.elementType == .string {
                for i in 0..<array.count { append(string: array.string(at: i)!.bytes) }
            } else {
                for element in array { try append(copied: element, key: key) }
            }
        }
    }

    mutating func padToMultiple(of alignment: Int) {
        let remainder = bytes.count % alignment
        if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }
}

extension GGUFMetadataValue {
    /// An owned copy of a value read from a file (arrays decoded element by element), for
    /// callers that edit it; `.copied` keeps it in the source mapping instead.
    public init(owning value: GGUFValue) {
        switch value {
        case .uint8(let v): self = .uint8(v)
        case .int8(let v): self = .int8(v)
        case .uint16(let v): self = .uint16(v)
        case .int16(let v): self = .int16(v)
        case .uint32(let v): self = .uint32(v)
        case .int32(let v): self = .int32(v)
        case .uint64(let v): self = .uint64(v)
        case .int64(let v): self = .int64(v)
        case .float32(let v): self = .float32(v)
        case .float64(let v): self = .float64(v)
        case .bool(let v): self = .bool(v)
        case .string(let s): self = .bytes(Array(s.bytes))
        case .array(let array): self = .array(elementType: array.elementType, elements: array.map { GGUFMetadataValue(owning: $0) })
        }
    }
}
