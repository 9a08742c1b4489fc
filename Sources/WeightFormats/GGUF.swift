/// GGUF, llama.cpp's model file format (versions 2 and 3).
///
/// Byte layout (all integers in the file's byte order, little-endian unless the version field
/// reads byte-swapped, which marks a big-endian file; the magic is always the bytes "GGUF"):
///
///     magic             4 bytes   "GGUF"
///     version           u32       2 or 3 (version 1 used 32-bit counts and is not supported)
///     tensor_count      u64
///     kv_count          u64
///     kv_count times:   key (string), value_type (u32), value
///     tensor_count times:
///         name          string    at most 63 bytes (llama.cpp's GGML_MAX_NAME is 64 with NUL)
///         n_dims        u32       at most 4
///         ne            u64 x n_dims   innermost dimension first (the reverse of PyTorch's shape)
///         type          u32       a ggml type id
///         offset        u64       relative to the data section, a multiple of the alignment
///     padding           to a multiple of the alignment
///     data section      tensor bytes
///
///     string            u64 length, then that many bytes of UTF-8 (no terminator)
///     array value       element type (u32), count (u64), elements; elements may be arrays
///
/// The alignment is `general.alignment` (a u32, a non-zero power of two) or 32 by default.
/// Every count is checked against the bytes left before anything is allocated for it.
public enum GGUFLimits {
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32
    /// llama.cpp's GGML_MAX_NAME: names are stored in 64 bytes including the terminator.
    public static let maxTensorNameBytes = 63
    /// GGML_MAX_DIMS.
    public static let maxDimensions = 4
    /// How deep arrays of arrays may nest.
    public static let maxArrayNesting = 8
    public static let supportedVersions: ClosedRange<UInt32> = 2...3
}

/// Where and how one tensor is stored in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml's `ne`: innermost dimension first.
    public let dimensions: [Int]
    /// Offset relative to the start of the data section.
    public let relativeOffset: Int
    /// Absolute offset of the tensor's first byte in the file.
    public let offset: Int
    /// The tensor's own bytes, without padding.
    public let byteCount: Int
    /// Offset of this tensor's info record in the header.
    public let infoOffset: Int

    /// Row-major shape, outermost first (PyTorch and NumPy order): `dimensions` reversed.
    public var shape: [Int] { dimensions.reversed() }
    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A parsed and validated GGUF file. Metadata and tensor data stay in the mapping.
public final class GGUFFile: Sendable {
    public let file: MappedFile
    public let version: UInt32
    public let byteOrder: ByteOrder
    public let alignment: Int
    public let metadata: GGUFMetadata
    public let tensorInfos: [GGUFTensorInfo]
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Offset of the first byte after the tensor infos.
    public let headerEnd: Int

    /// Opens and validates the GGUF file at `path`.
    public convenience init(path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(file: file)
    }

    /// Validates a mapped GGUF file.
    ///
    /// - Throws: a `FormatError` wrapped in `.inFile(path, ...)` naming the first defect.
    public init(file: MappedFile) throws {
        do {
            let parsed = try GGUFParser.parse(file)
            self.file = file
            self.version = parsed.version
            self.byteOrder = parsed.byteOrder
            self.alignment = parsed.alignment
            self.metadata = parsed.metadata
            self.tensorInfos = parsed.tensors
            self.dataOffset = parsed.dataOffset
            self.headerEnd = parsed.headerEnd
        } catch let error as FormatError {
            throw FormatError.inFile(file.path, error)
        }
    }

    /// The architecture name (`general.architecture`), if present.
    public var architecture: String? { metadata.string("general.architecture") }

    /// Tensor views in tensor-info order.
    public func tensorViews(displayName: String? = nil) -> [TensorView] {
        let name = displayName ?? file.fileName
        return tensorInfos.map { info in
            TensorView(
                name: info.name, dtype: .ggml(info.type), shape: info.shape, file: file,
                offset: info.offset, byteCount: info.byteCount, fileName: name, byteOrder: byteOrder)
        }
    }

    /// String values (including array elements) that are not valid UTF-8, by key. Such values
    /// are shown with U+FFFD; this lists them so a tool can warn. `kernels` validates the
    /// bytes (every tier gives the same answer).
    public func invalidUTF8Strings(kernels: Kernels = .best) -> [(key: String, count: Int)] {
        var result: [(String, Int)] = []
        for entry in metadata.entries {
            let bad = GGUFFile.countInvalidUTF8(entry.value, kernels: kernels)
            if bad > 0 { result.append((entry.key, bad)) }
        }
        return result
    }

    private static func countInvalidUTF8(_ value: GGUFValue, kernels: Kernels) -> Int {
        switch value {
        case .string(let s): return s.isValidUTF8 ? 0 : 1
        case .array(let array) where array.elementType == .string:
            return array.countInvalidUTF8(kernels: kernels)
        case .array(let array) where array.elementType == .array:
            return array.reduce(0) { $0 + countInvalidUTF8($1, kernels: kernels) }
        default: return 0
        }
    }
}

/// The GGUF header parser: one function per part of the layout above.
enum GGUFParser {
    struct Parsed {
        var version: UInt32
        var byteOrder: ByteOrder
        var alignment: Int
        var metadata: GGUFMetadata
        var tensors: [GGUFTensorInfo]
        var dataOffset: Int
        var headerEnd: Int
    }

    static func parse(_ file: MappedFile) throws -> Parsed {
        var cursor = ByteCursor(file.bytes)

        // 1. Magic and version; a byte-swapped version marks a big-endian file.
        try cursor.require(4, "magic")
        let magic = Array(cursor.bytes(at: 0, count: 4))
        guard magic == GGUFLimits.magic else { throw FormatError.badMagic(found: magic) }
        cursor.offset = 4
        var version = try cursor.read(UInt32.self, "version")
        if version & 0xFFFF == 0 && version != 0 {
            cursor.byteOrder = .bigEndian
            version = version.byteSwapped
        }
        guard GGUFLimits.supportedVersions.contains(version) else {
            throw FormatError.unsupportedVersion(version)
        }

        // 2. Counts, each bounded by the bytes that could hold that many records.
        let tensorCountOffset = cursor.offset
        let tensorCount = try cursor.read(UInt64.self, "tensor count")
        let keyCountOffset = cursor.offset
        let keyCount = try cursor.read(UInt64.self, "metadata key count")
        let minimumKeyValue: UInt64 = 8 + 1 + 4 + 1
        let keyLimit = UInt64(cursor.remaining) / minimumKeyValue
        guard keyCount <= keyLimit else {
            throw FormatError.countTooLarge(field: "metadata key count", count: keyCount, offset: keyCountOffset, limit: keyLimit)
        }
        let minimumTensorInfo: UInt64 = 8 + 1 + 4 + 4 + 8
        let tensorLimit = UInt64(cursor.remaining) / minimumTensorInfo
        guard tensorCount <= tensorLimit else {
            throw FormatError.countTooLarge(field: "tensor count", count: tensorCount, offset: tensorCountOffset, limit: tensorLimit)
        }

        // 3. Key-value pairs.
        let metadata = try readMetadata(count: Int(keyCount), cursor: &cursor, file: file)

        // 4. Alignment: a u32, a non-zero power of two.
        var alignment = GGUFLimits.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case .uint32(let raw) = value else {
                throw FormatError.wrongValueType(key: "general.alignment", expected: "UINT32", found: value.typeName)
            }
            guard raw != 0, raw & (raw - 1) == 0 else { throw FormatError.invalidAlignment(value: UInt64(raw)) }
            alignment = Int(raw)
        }

        // 5. Tensor infos.
        var infos = try readTensorInfos(count: Int(tensorCount), alignment: alignment, cursor: &cursor)
        let headerEnd = cursor.offset

        // 6. The data section and every tensor's place in it.
        let (padded, overflow) = headerEnd.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw FormatError.dataSectionPastEnd(dataOffset: Int.max, fileSize: file.size) }
        let dataOffset = padded / alignment * alignment
        if !infos.isEmpty {
            guard dataOffset <= file.size else {
                throw FormatError.dataSectionPastEnd(dataOffset: dataOffset, fileSize: file.size)
            }
            infos = try placeTensors(infos, dataOffset: dataOffset, alignment: alignment, fileSize: file.size)
        }
        return Parsed(
            version: version, byteOrder: cursor.byteOrder, alignment: alignment, metadata: metadata,
            tensors: infos, dataOffset: dataOffset, headerEnd: headerEnd)
    }

    // MARK: Metadata

    static func readMetadata(count: Int, cursor: inout ByteCursor, file: MappedFile) throws -> GGUFMetadata {
        var entries: [GGUFMetadataEntry] = []
        var index: [String: Int] = [:]
        entries.reserveCapacity(count)
        index.reserveCapacity(count)
        for _ in 0..<count {
            let entryOffset = cursor.offset
            let key = try readName(cursor: &cursor, field: "metadata key")
            guard !key.isEmpty else { throw FormatError.emptyKey(offset: entryOffset) }
            guard index[key] == nil else { throw FormatError.duplicateKey(key: key, offset: entryOffset) }
            let typeOffset = cursor.offset
            let rawType = try cursor.read(UInt32.self, "value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw FormatError.unknownValueType(key: key, type: rawType, offset: typeOffset)
            }
            let value = try readValue(of: type, at: &cursor, file: file, key: key, depth: 0)
            index[key] = entries.count
            entries.append(GGUFMetadataEntry(key: key, value: value, offset: entryOffset))
        }
        return GGUFMetadata(entries: entries, index: index)
    }

    /// Reads a length-prefixed string that must be valid UTF-8 (keys and tensor names).
    static func readName(cursor: inout ByteCursor, field: String) throws -> String {
        let lengthOffset = cursor.offset
        let length = try cursor.read(UInt64.self, "\(field) length")
        guard length <= UInt64(cursor.remaining) else {
            throw FormatError.truncated(field: field, offset: cursor.offset, needed: Int(clamping: length), available: cursor.remaining)
        }
        let bytes = cursor.bytes(at: cursor.offset, count: Int(length))
        guard let name = bytes.validatedString else {
            throw FormatError.invalidUTF8(field: field, offset: lengthOffset)
        }
        cursor.offset += Int(length)
        return name
    }

    /// Reads one value of `type` at the cursor, validating it completely.
    static func readValue(
        of type: GGUFValueType, at cursor: inout ByteCursor, file: MappedFile, key: String, depth: Int
    ) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, "value of '\(key)'"))
        case .int8: return .int8(try cursor.read(Int8.self, "value of '\(key)'"))
        case .uint16: return .uint16(try cursor.read(UInt16.self, "value of '\(key)'"))
        case .int16: return .int16(try cursor.read(Int16.self, "value of '\(key)'"))
        case .uint32: return .uint32(try cursor.read(UInt32.self, "value of '\(key)'"))
        case .int32: return .int32(try cursor.read(Int32.self, "value of '\(key)'"))
        case .uint64: return .uint64(try cursor.read(UInt64.self, "value of '\(key)'"))
        case .int64: return .int64(try cursor.read(Int64.self, "value of '\(key)'"))
        case .float32: return .float32(try cursor.readFloat("value of '\(key)'"))
        case .float64: return .float64(try cursor.readDouble("value of '\(key)'"))
        case .bool:
            let offset = cursor.offset
            let raw = try cursor.read(UInt8.self, "value of '\(key)'")
            guard raw <= 1 else { throw FormatError.invalidBool(key: key, value: raw, offset: offset) }
            return .bool(raw == 1)
        case .string:
            let length = try readStringLength(cursor: &cursor, key: key)
            let string = GGUFString(file: file, offset: cursor.offset, count: length)
            cursor.offset += length
            return .string(string)
        case .array:
            return .array(try readArray(cursor: &cursor, file: file, key: key, depth: depth))
        }
    }

    @inline(__always)
    static func readStringLength(cursor: inout ByteCursor, key: String) throws -> Int {
        let length = try cursor.read(UInt64.self, "string length in '\(key)'")
        guard length <= UInt64(cursor.remaining) else {
            throw FormatError.truncated(
                field: "string in '\(key)'", offset: cursor.offset, needed: Int(clamping: length), available: cursor.remaining)
        }
        return Int(length)
    }

    static func readArray(cursor: inout ByteCursor, file: MappedFile, key: String, depth: Int) throws -> GGUFArray {
        guard depth < GGUFLimits.maxArrayNesting else {
            throw FormatError.arrayNestingTooDeep(key: key, offset: cursor.offset, limit: GGUFLimits.maxArrayNesting)
        }
        let typeOffset = cursor.offset
        let rawType = try cursor.read(UInt32.self, "array element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw FormatError.unknownValueType(key: key, type: rawType, offset: typeOffset)
        }
        let countOffset = cursor.offset
        let rawCount = try cursor.read(UInt64.self, "array length of '\(key)'")
        let limit = UInt64(cursor.remaining / elementType.minimumSize)
        guard rawCount <= limit else {
            throw FormatError.countTooLarge(field: "array length of '\(key)'", count: rawCount, offset: countOffset, limit: limit)
        }
        let count = Int(rawCount)
        let start = cursor.offset
        var offsets: [Int] = []
        var longStrings: [Int] = []

        switch elementType {
        case .bool:
            for i in 0..<count {
                let raw = cursor.base.load(fromByteOffset: start + i, as: UInt8.self)
                guard raw <= 1 else { throw FormatError.invalidBool(key: key, value: raw, offset: start + i) }
            }
            cursor.offset += count
        case .string:
            offsets.reserveCapacity(count)
            for _ in 0..<count {
                offsets.append(cursor.offset)
                let length = try readStringLength(cursor: &cursor, key: key)
                if length >= 0x80 { longStrings.append(offsets.count - 1) }
                cursor.offset += length
            }
        case .array:
            offsets.reserveCapacity(count)
            for _ in 0..<count {
                offsets.append(cursor.offset)
                _ = try readArray(cursor: &cursor, file: file, key: key, depth: depth + 1)
            }
        default:
            cursor.offset += count * elementType.fixedSize!
        }
        return GGUFArray(
            elementType: elementType, count: count, file: file, offset: start, endOffset: cursor.offset,
            byteOrder: cursor.byteOrder, elementOffsets: offsets, longStrings: longStrings)
    }

    // MARK: Tensor infos

    static func readTensorInfos(count: Int, alignment: Int, cursor: inout ByteCursor) throws -> [GGUFTensorInfo] {
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(count)
        var seen = Set<String>(minimumCapacity: count)
        for _ in 0..<count {
            let infoOffset = cursor.offset
            let name = try readName(cursor: &cursor, field: "tensor name")
            guard name.utf8.count <= GGUFLimits.maxTensorNameBytes else {
                throw FormatError.tensorNameTooLong(name: name, length: name.utf8.count, limit: GGUFLimits.maxTensorNameBytes)
            }
            guard seen.insert(name).inserted else { throw FormatError.duplicateTensor(name: name) }

            let dimensionCount = try cursor.read(UInt32.self, "dimension count of '\(name)'")
            guard dimensionCount <= GGUFLimits.maxDimensions else {
                throw FormatError.tooManyDimensions(tensor: name, count: UInt64(dimensionCount), limit: GGUFLimits.maxDimensions)
            }
            var dimensions: [Int] = []
            var elements = 1
            for index in 0..<Int(dimensionCount) {
                let raw = try cursor.read(UInt64.self, "dimension \(index) of '\(name)'")
                guard raw <= UInt64(Int64.max) else {
                    throw FormatError.invalidDimension(tensor: name, index: index, value: String(Int64(bitPattern: raw)))
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
                elements = product
                dimensions.append(Int(raw))
            }

            let typeID = try cursor.read(UInt32.self, "type of '\(name)'")
            guard let type = GGMLType(rawValue: typeID) else {
                if let removed = GGMLType.removedIDs[typeID] {
                    throw FormatError.removedTensorType(tensor: name, id: typeID, name: removed)
                }
                throw FormatError.unknownTensorType(tensor: name, id: typeID)
            }
            let rowLength = dimensions.first ?? 1
            guard rowLength % type.blockSize == 0 else {
                throw FormatError.rowNotMultipleOfBlock(tensor: name, rowLength: rowLength, blockSize: type.blockSize, type: type.name)
            }
            guard let byteCount = type.byteCount(elements: elements),
                  byteCount <= Int.max - alignment
            else { throw FormatError.shapeOverflow(tensor: name) }

            let offset = try cursor.read(UInt64.self, "data offset of '\(name)'")
            guard offset % UInt64(alignment) == 0 else {
                throw FormatError.tensorOffsetUnaligned(tensor: name, offset: offset, alignment: alignment)
            }
            guard offset <= UInt64(Int.max) else {
                throw FormatError.tensorOutOfBounds(tensor: name, offset: Int.max, size: byteCount, fileSize: cursor.end)
            }
            infos.append(GGUFTensorInfo(
                name: name, type: type, dimensions: dimensions, relativeOffset: Int(offset), offset: 0,
                byteCount: byteCount, infoOffset: infoOffset))
        }
        return infos
    }

    /// Resolves absolute offsets and checks that every tensor lies inside the file and that no
    /// two tensors share bytes.
    static func placeTensors(_ infos: [GGUFTensorInfo], dataOffset: Int, alignment: Int, fileSize: Int) throws -> [GGUFTensorInfo] {
        var placed: [GGUFTensorInfo] = []
        placed.reserveCapacity(infos.count)
        for info in infos {
            let (start, overflow) = dataOffset.addingReportingOverflow(info.relativeOffset)
            guard !overflow, start <= fileSize, info.byteCount <= fileSize - start else {
                throw FormatError.tensorOutOfBounds(
                    tensor: info.name, offset: overflow ? Int.max : start, size: info.byteCount, fileSize: fileSize)
            }
            placed.append(GGUFTensorInfo(
                name: info.name, type: info.type, dimensions: info.dimensions, relativeOffset: info.relativeOffset,
                offset: start, byteCount: info.byteCount, infoOffset: info.infoOffset))
        }
        // Sorted by start, a tensor overlaps an earlier one exactly when it starts before the
        // furthest end so far. Empty tensors own no bytes: they neither overlap nor end
        // anything (comparing neighbours only would let an empty tensor hide an overlap).
        let byStart = placed.filter { $0.byteCount > 0 }.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        var furthest: GGUFTensorInfo?
        for next in byStart {
            if let previous = furthest, next.offset < previous.offset + previous.byteCount {
                throw FormatError.tensorsOverlap(first: previous.name, second: next.name, offset: next.offset)
            }
            if furthest == nil || next.offset + next.byteCount > furthest!.offset + furthest!.byteCount { furthest = next }
        }
        return placed
    }
}
