import CKernels
/// The 13 metadata value types of GGUF (gguf.md, `enum gguf_type`).
public enum GGUFValueType: UInt32, CaseIterable, Sendable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// The name gguf-py gives the type (`GGUFValueType.UINT32.name`).
    public var name: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }

    /// Looks a type up by its gguf-py name, case-insensitively.
    public init?(name: String) {
        let upper = name.uppercased()
        guard let match = GGUFValueType.allCases.first(where: { $0.name == upper }) else { return nil }
        self = match
    }

    /// Bytes per value for the fixed-size types; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The fewest bytes one value of this type can occupy in a file.
    var minimumSize: Int {
        switch self {
        case .string: 8          // the length
        case .array: 4 + 8       // element type and count
        default: fixedSize!
        }
    }
}

/// One metadata value. Strings and arrays are views into the mapped file, decoded on demand.
public enum GGUFValue: Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string(GGUFString)
    case array(GGUFArray)

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
        case .string: .string
        case .array: .array
        }
    }

    /// The type as gguf-py spells it, with element types for arrays: `"ARRAY[STRING]"`,
    /// `"ARRAY[ARRAY[INT32]]"`.
    public var typeName: String {
        guard case .array(let array) = self else { return type.name }
        if array.elementType == .array, let first = array.first {
            return "ARRAY[\(first.typeName)]"
        }
        return "ARRAY[\(array.elementType.name)]"
    }

    /// The value as an integer when it is one of the integer types and fits in `Int`.
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
        default: nil
        }
    }

    /// The value as a Double when it is numeric.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        // Above Int.max a uint64 has no Int value but still a (rounded) Double one.
        case .uint64(let v): Double(v)
        default: intValue.map(Double.init)
        }
    }

    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// The string, with invalid UTF-8 replaced by U+FFFD.
    public var stringValue: String? {
        if case .string(let s) = self { return s.value }
        return nil
    }

    public var arrayValue: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// A string stored in a GGUF file: its bytes stay in the mapping until asked for.
public struct GGUFString: Sendable, CustomStringConvertible {
    let file: MappedFile
    /// Offset of the first byte of the string (after its length) in the file.
    public let offset: Int
    /// Length in bytes.
    public let count: Int

    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: file.bytes.baseAddress! + offset, count: count)
    }

    /// The string, with invalid UTF-8 replaced by U+FFFD (files in the wild have such strings).
    public var value: String { bytes.lossyString }

    public var isValidUTF8: Bool { bytes.isValidUTF8 }

    public var description: String { value }
}

/// An array stored in a GGUF file, indexed but not decoded.
///
/// Fixed-size elements are read straight from the mapping; for strings and nested arrays the
/// parser records where each element starts, so `tokens[100_000]` costs one lookup and a
/// 151,936-token vocabulary never becomes 151,936 Swift strings unless someone asks.
public struct GGUFArray: RandomAccessCollection, Sendable {
    public let elementType: GGUFValueType
    public let count: Int
    let file: MappedFile
    /// Offset of the first element in the file.
    public let offset: Int
    /// One past the last byte of the last element.
    public let endOffset: Int
    let byteOrder: ByteOrder
    /// For strings and arrays: the offset of each element. Empty for fixed-size elements.
    let elementOffsets: [Int]
    /// For strings: the indices of strings of 128 bytes or more, whose length fields may hold
    /// bytes above 0x7F (every other length field is ASCII, whichever the byte order).
    let longStrings: [Int]

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> GGUFValue {
        precondition(position >= 0 && position < count, "GGUFArray index out of range")
        var cursor = ByteCursor(file.bytes, byteOrder: byteOrder)
        if let size = elementType.fixedSize {
            cursor.offset = offset + position * size
        } else {
            cursor.offset = elementOffsets[position]
        }
        // The parser validated every element, so decoding cannot fail here.
        return try! GGUFParser.readValue(of: elementType, at: &cursor, file: file, key: "", depth: 0)
    }

    /// The elements as strings (U+FFFD for invalid UTF-8); nil unless this is a string array.
    public func strings() -> [String]? {
        guard elementType == .string else { return nil }
        let base = file.bytes.baseAddress!
        return elementOffsets.map { start in
            let length = readLength(at: start)
            return UnsafeRawBufferPointer(start: base + start + 8, count: length).lossyString
        }
    }

    /// The string element at `index` without creating a `GGUFValue`.
    public func string(at index: Int) -> GGUFString? {
        guard elementType == .string, index >= 0, index < count else { return nil }
        let start = elementOffsets[index]
        return GGUFString(file: file, offset: start + 8, count: readLength(at: start))
    }

    /// Calls `body` with the bytes of the string elements `range` in order, in place in the
    /// mapping (no `GGUFString` per element: a vocabulary is 150,000 of them).
    public func forEachString(in range: Range<Int>? = nil, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard elementType == .string else { return }
        let base = file.bytes.baseAddress!
        for index in range ?? 0..<count {
            let start = elementOffsets[index]
            try body(index, UnsafeRawBufferPointer(start: base + start + 8, count: readLength(at: start)))
        }
    }

    /// The elements as Int when the element type is an integer type (uint64 values above
    /// `Int.max` give nil).
    public func integers() -> [Int]? {
        switch elementType {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64, .bool:
            var result: [Int] = []
            result.reserveCapacity(count)
            for value in self {
                guard let int = value.intValue ?? value.boolValue.map({ $0 ? 1 : 0 }) else { return nil }
                result.append(int)
            }
            return result
        default:
            return nil
        }
    }

    /// The elements as Double when the element type is numeric.
    public func doubles() -> [Double]? {
        guard elementType != .string, elementType != .array, elementType != .bool else { return nil }
        var result: [Double] = []
        result.reserveCapacity(count)
        for value in self {
            guard let double = value.doubleValue else { return nil }
            result.append(double)
        }
        return result
    }

    /// How many string elements are not valid UTF-8 (zero for other element types).
    func countInvalidUTF8(kernels: Kernels = .best) -> Int {
        let valid = kernels.c.utf8_valid
        guard elementType == .string, count > 0 else { return 0 }
        let base = file.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // Between the long strings, length fields are ASCII, and an ASCII byte can neither end
        // nor continue a multi-byte sequence: a run of strings is valid exactly when its whole
        // region is. A vocabulary is thus a few passes over its bytes, 32 at a time, and only a
        // run that fails is counted string by string.
        var bad = 0, first = 0
        for end in longStrings + [count] {
            if first < end {
                let start = elementOffsets[first], stop = end < count ? elementOffsets[end] : endOffset
                if valid(base + start, stop - start) == 0 { bad += countInvalidOneByOne(first..<end) }
            }
            if end < count, valid(base + elementOffsets[end] + 8, readLength(at: elementOffsets[end])) == 0 { bad += 1 }
            first = end + 1
        }
        return bad
    }

    /// Invalid strings among `range`, checked one at a time (on every core for a long range).
    private func countInvalidOneByOne(_ range: Range<Int>) -> Int {
        let base = file.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let chunks = range.count >= 16_384 ? Parallel.processorCount : 1
        let size = (range.count + chunks - 1) / chunks
        var counts = [Int](repeating: 0, count: chunks)
        elementOffsets.withUnsafeBufferPointer { offsets in
            counts.withUnsafeMutableBufferPointer { counts in
                Parallel.forEach(chunks) { chunk in
                    var bad = 0
                    let lower = range.lowerBound + chunk * size, upper = Swift.min(range.upperBound, lower + size)
                    for start in offsets[lower..<Swift.max(lower, upper)]
                    where !UTF8Validation.isValid(base + start + 8, readLength(at: start)) { bad += 1 }
                    counts[chunk] = bad
                }
            }
        }
        return counts.reduce(0, +)
    }

    private func readLength(at start: Int) -> Int {
        let raw = file.bytes.baseAddress!.loadUnaligned(fromByteOffset: start, as: UInt64.self)
        return Int(byteOrder == .littleEndian ? UInt64(littleEndian: raw) : UInt64(bigEndian: raw))
    }
}

/// One key-value pair of a GGUF header.
public struct GGUFMetadataEntry: Sendable {
    public let key: String
    public let value: GGUFValue
    /// Offset of the key's length field in the file.
    public let offset: Int
}

/// The metadata of a GGUF file: ordered as in the file, looked up by key.
public struct GGUFMetadata: RandomAccessCollection, Sendable {
    public let entries: [GGUFMetadataEntry]
    private let index: [String: Int]

    init(entries: [GGUFMetadataEntry], index: [String: Int]) {
        self.entries = entries
        self.index = index
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }
    public subscript(position: Int) -> GGUFMetadataEntry { entries[position] }

    public subscript(key: String) -> GGUFValue? {
        index[key].map { entries[$0].value }
    }

    public func contains(_ key: String) -> Bool { index[key] != nil }

    public func int(_ key: String) -> Int? { self[key]?.intValue }
    public func double(_ key: String) -> Double? { self[key]?.doubleValue }
    public func string(_ key: String) -> String? { self[key]?.stringValue }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func array(_ key: String) -> GGUFArray? { self[key]?.arrayValue }
}
