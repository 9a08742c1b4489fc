/// safetensors, Hugging Face's tensor file format.
///
/// Byte layout:
///
///     header length     u64, little-endian: N (at most 100,000,000, the reference's limit)
///     header            N bytes of UTF-8 JSON, padded with spaces to a multiple of 8 by the
///                       reference writer: { "__metadata__": {string: string}  (optional),
///                                           name: {"dtype": "F16", "shape": [..],
///                                                  "data_offsets": [begin, end]}, ... }
///     data              the tensors' bytes; offsets are relative to the end of the header
///
/// Tensors are little-endian and row-major. The data offsets, sorted, must tile the data
/// section exactly: the first begins at 0, each begins where the previous ends, the last ends
/// at the end of the file, and `end - begin` is the shape's element count times the dtype size
/// (sub-byte dtypes must fill whole bytes).
public enum SafeTensorsLimits {
    public static let maxHeaderLength = 100_000_000
    public static let metadataKey = "__metadata__"
}

/// One tensor entry of a safetensors header.
public struct SafeTensorsTensorInfo: Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Offsets relative to the start of the data section.
    public let dataBegin: Int
    public let dataEnd: Int
}

/// A parsed and validated safetensors file.
public final class SafeTensorsFile: Sendable {
    public let file: MappedFile
    /// Length of the JSON header in bytes.
    public let headerLength: Int
    /// `__metadata__`, in file order (empty when absent).
    public let metadata: [(key: String, value: String)]
    /// Tensors ordered by data offset.
    public let tensorInfos: [SafeTensorsTensorInfo]

    /// Absolute offset of the data section (8 + header length).
    public var dataOffset: Int { 8 + headerLength }

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    /// Validates a mapped safetensors file.
    ///
    /// - Throws: a `FormatError` wrapped in `.inFile(path, ...)`.
    public init(file: MappedFile) throws {
        do {
            let parsed = try SafeTensorsParser.parse(file)
            self.file = file
            self.headerLength = parsed.headerLength
            self.metadata = parsed.metadata
            self.tensorInfos = parsed.tensors
        } catch let error as FormatError {
            throw FormatError.inFile(file.path, error)
        }
    }

    public func tensorViews(displayName: String? = nil) -> [TensorView] {
        let name = displayName ?? file.fileName
        return tensorInfos.map { info in
            TensorView(
                name: info.name, dtype: .safetensors(info.dtype), shape: info.shape, file: file,
                offset: dataOffset + info.dataBegin, byteCount: info.dataEnd - info.dataBegin, fileName: name)
        }
    }
}

enum SafeTensorsParser {
    struct Parsed {
        var headerLength: Int
        var metadata: [(key: String, value: String)]
        var tensors: [SafeTensorsTensorInfo]
    }

    static func parse(_ file: MappedFile) throws -> Parsed {
        // 1. Header length and header bytes.
        guard file.size >= 8 else { throw FormatError.headerTooSmall(fileSize: file.size) }
        let rawLength = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard rawLength <= UInt64(SafeTensorsLimits.maxHeaderLength) else {
            throw FormatError.headerTooLarge(length: rawLength, limit: SafeTensorsLimits.maxHeaderLength)
        }
        let headerLength = Int(rawLength)
        guard headerLength <= file.size - 8 else { throw FormatError.headerPastEnd(length: rawLength, fileSize: file.size) }
        let header = UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + headerLength)])

        // 2. JSON: valid UTF-8, strict syntax, no duplicate keys, bounded nesting.
        guard header.isValidUTF8 else { throw FormatError.invalidUTF8(field: "safetensors header", offset: 8) }
        guard case .object(let root) = try JSON.parse(header, baseOffset: 8) else { throw FormatError.headerNotObject }

        // 3. Entries.
        var metadata: [(key: String, value: String)] = []
        var tensors: [SafeTensorsTensorInfo] = []
        tensors.reserveCapacity(root.count)
        for (name, entry) in root {
            if name == SafeTensorsLimits.metadataKey {
                metadata = try parseMetadata(entry)
            } else {
                tensors.append(try parseTensor(name: name, entry))
            }
        }

        // 4. The offsets must tile the data section exactly.
        tensors.sort { ($0.dataBegin, $0.dataEnd) < ($1.dataBegin, $1.dataEnd) }
        var expected = 0
        for tensor in tensors {
            if tensor.dataBegin < expected {
                throw FormatError.offsetsOverlap(tensor: tensor.name, previousEnd: expected, begin: tensor.dataBegin)
            }
            if tensor.dataBegin > expected {
                throw FormatError.offsetsGap(tensor: tensor.name, expected: expected, found: tensor.dataBegin)
            }
            expected = tensor.dataEnd
        }
        let dataSize = file.size - 8 - headerLength
        if expected > dataSize {
            // Name the first tensor that does not fit. It begins where the previous one ends,
            // inside the file, so its offset cannot overflow (the last one's could: offsets
            // may run up to Int.max).
            let outside = tensors.first { $0.dataEnd > dataSize }!
            throw FormatError.tensorOutOfBounds(
                tensor: outside.name, offset: 8 + headerLength + outside.dataBegin, size: outside.dataEnd - outside.dataBegin,
                fileSize: file.size)
        }
        if expected < dataSize {
            throw FormatError.trailingBytes(dataEnd: 8 + headerLength + expected, fileSize: file.size)
        }
        return Parsed(headerLength: headerLength, metadata: metadata, tensors: tensors)
    }

    static func parseMetadata(_ value: JSONValue) throws -> [(key: String, value: String)] {
        if value == .null { return [] }
        guard case .object(let object) = value else {
            throw FormatError.wrongFieldType(tensor: SafeTensorsLimits.metadataKey, field: SafeTensorsLimits.metadataKey, expected: "an object of strings")
        }
        return try object.map { member in
            guard case .string(let string) = member.value else { throw FormatError.metadataNotString(key: member.key) }
            return (member.key, string)
        }
    }

    static func parseTensor(name: String, _ entry: JSONValue) throws -> SafeTensorsTensorInfo {
        guard case .object(let fields) = entry else {
            throw FormatError.wrongFieldType(tensor: name, field: name, expected: "an object with dtype, shape and data_offsets")
        }
        guard let dtypeValue = fields["dtype"] else { throw FormatError.missingField(tensor: name, field: "dtype") }
        guard case .string(let dtypeName) = dtypeValue else {
            throw FormatError.wrongFieldType(tensor: name, field: "dtype", expected: "a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw FormatError.unknownDType(tensor: name, dtype: dtypeName) }

        guard let shapeValue = fields["shape"] else { throw FormatError.missingField(tensor: name, field: "shape") }
        guard case .array(let dimensions) = shapeValue else {
            throw FormatError.wrongFieldType(tensor: name, field: "shape", expected: "an array of non-negative integers")
        }
        var shape: [Int] = []
        var elements = 1
        for (index, dimension) in dimensions.enumerated() {
            guard case .number(let number) = dimension, number.isInteger else {
                throw FormatError.wrongFieldType(tensor: name, field: "shape", expected: "an array of non-negative integers")
            }
            guard let value = number.int, value >= 0 else {
                if number.text.hasPrefix("-") {
                    throw FormatError.invalidDimension(tensor: name, index: index, value: number.text)
                }
                throw FormatError.shapeOverflow(tensor: name)
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: value)
            guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
            elements = product
            shape.append(value)
        }

        guard let offsetsValue = fields["data_offsets"] else { throw FormatError.missingField(tensor: name, field: "data_offsets") }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
              case .number(let beginNumber) = offsets[0], case .number(let endNumber) = offsets[1],
              beginNumber.isInteger, endNumber.isInteger, !beginNumber.text.hasPrefix("-"), !endNumber.text.hasPrefix("-")
        else {
            throw FormatError.wrongFieldType(tensor: name, field: "data_offsets", expected: "two non-negative integers")
        }
        // An offset that does not fit in Int is not a shape overflow: name the field.
        guard let begin = beginNumber.int, let end = endNumber.int else {
            throw FormatError.wrongFieldType(tensor: name, field: "data_offsets", expected: "two non-negative integers below 2^63")
        }
        guard end >= begin else { throw FormatError.offsetsReversed(tensor: name, begin: begin, end: end) }

        let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.bitWidth)
        guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
        guard bits % 8 == 0 else { throw FormatError.subByteSizeNotWhole(tensor: name, dtype: dtype.rawValue, bits: bits) }
        guard bits / 8 == end - begin else {
            throw FormatError.byteSizeMismatch(tensor: name, expected: bits / 8, found: end - begin)
        }
        return SafeTensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataBegin: begin, dataEnd: end)
    }
}
