/// Everything that can be wrong with a model file, each case carrying what and where.
///
/// Parsers throw the innermost case; the entry points that know the file wrap it in
/// `.inFile(path, error)`. Tests match cases (use `root` to look through the wrapper); people
/// read `description`, which names the key or tensor, the offset, what was found and what
/// was allowed.
public indirect enum FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: Files
    case cannotOpen(path: String, reason: String)
    case notARegularFile(path: String)
    /// A FIFO, device or socket given as an input (only regular files and directories are read).
    case specialFile(path: String, kind: String)
    case emptyFile(path: String)
    case fileTooLarge(path: String, size: Int, limit: Int)
    case unrecognizedFormat(path: String, reason: String)
    /// An error inside a particular file (a shard, a split part, or the file itself).
    case inFile(String, FormatError)
    /// A `.zst` file zstd cannot decompress: `offset` is how far into the compressed bytes the
    /// decoder got, `reason` zstd's own words (or "truncated" when the last frame is cut short).
    case zstdFailed(path: String, offset: Int, reason: String)

    // MARK: Bytes and counts (GGUF)
    /// The file ended inside `field`, which starts at `offset` and needs `needed` bytes.
    case truncated(field: String, offset: Int, needed: Int, available: Int)
    case badMagic(found: [UInt8])
    case unsupportedVersion(UInt32)
    /// A count read from the file cannot fit in the bytes that are left.
    case countTooLarge(field: String, count: UInt64, offset: Int, limit: UInt64)
    case unknownValueType(key: String, type: UInt32, offset: Int)
    case invalidBool(key: String, value: UInt8, offset: Int)
    case invalidUTF8(field: String, offset: Int)
    case emptyKey(offset: Int)
    case duplicateKey(key: String, offset: Int)
    case arrayNestingTooDeep(key: String, offset: Int, limit: Int)
    case wrongValueType(key: String, expected: String, found: String)
    case invalidAlignment(value: UInt64)
    case dataSectionPastEnd(dataOffset: Int, fileSize: Int)

    // MARK: Tensors (both formats)
    case duplicateTensor(name: String)
    case tensorNameTooLong(name: String, length: Int, limit: Int)
    case tooManyDimensions(tensor: String, count: UInt64, limit: Int)
    case invalidDimension(tensor: String, index: Int, value: String)
    case shapeOverflow(tensor: String)
    case rowNotMultipleOfBlock(tensor: String, rowLength: Int, blockSize: Int, type: String)
    case unknownTensorType(tensor: String, id: UInt32)
    case removedTensorType(tensor: String, id: UInt32, name: String)
    case tensorOffsetUnaligned(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, offset: Int, size: Int, fileSize: Int)
    case tensorsOverlap(first: String, second: String, offset: Int)
    case tensorNotFound(name: String)
    /// `TensorView.row(_:)` with an index outside `0..<rowCount`.
    case rowOutOfRange(tensor: String, index: Int, rowCount: Int)
    /// A strided view (PyTorch `expand` and the like) whose row-major copy would exceed the
    /// storage it reads by more than `limit` bytes.
    case viewExpandsStorage(tensor: String, shape: [Int], strides: [Int], storageBytes: Int, bytes: Int, limit: Int)

    // MARK: safetensors
    case headerTooSmall(fileSize: Int)
    case headerTooLarge(length: UInt64, limit: Int)
    case headerPastEnd(length: UInt64, fileSize: Int)
    case invalidJSON(offset: Int, reason: String)
    case jsonNestingTooDeep(offset: Int, limit: Int)
    case headerNotObject
    case missingField(tensor: String, field: String)
    case wrongFieldType(tensor: String, field: String, expected: String)
    case unknownDType(tensor: String, dtype: String)
    case byteSizeMismatch(tensor: String, expected: Int, found: Int)
    case subByteSizeNotWhole(tensor: String, dtype: String, bits: Int)
    case offsetsReversed(tensor: String, begin: Int, end: Int)
    case offsetsGap(tensor: String, expected: Int, found: Int)
    case offsetsOverlap(tensor: String, previousEnd: Int, begin: Int)
    case trailingBytes(dataEnd: Int, fileSize: Int)
    case metadataNotString(key: String)

    // MARK: Sets of files
    case splitPartMissing(path: String, part: Int, count: Int)
    case splitMismatch(path: String, reason: String)
    case shardIndexInvalid(path: String, reason: String)
    case shardMissing(path: String, referencedBy: String)
    case noWeightFiles(directory: String)

    // MARK: ZIP archives (PyTorch checkpoints)
    /// No end-of-central-directory record in the last 65,557 bytes.
    case zipEndRecordMissing(fileSize: Int)
    case zipBadSignature(structure: String, offset: Int, found: UInt32)
    /// A structure the archive points to lies (partly) outside the file or its parent.
    case zipStructureOutOfBounds(structure: String, offset: Int, size: Int, fileSize: Int)
    case zipInvalid(structure: String, offset: Int, reason: String)
    case zipMultipleDisks(offset: Int)
    case zipDuplicateEntry(name: String)
    case zipEntryMissing(name: String)
    case zipEntryEncrypted(name: String)
    /// Tensor data must be stored (method 0) to be mapped.
    case zipEntryCompressed(name: String, method: UInt16)
    case zipEntryOutOfBounds(name: String, offset: Int, size: Int, fileSize: Int)

    // MARK: Pickles (PyTorch checkpoints)
    /// A GLOBAL (or INST) naming something outside the allow-list, e.g. `posix.system`.
    case pickleForbiddenGlobal(module: String, name: String, offset: Int)
    case pickleUnknownOpcode(opcode: UInt8, offset: Int)
    /// A known opcode that state dicts never need (INST, OBJ, EXT1, out-of-band buffers...).
    case pickleUnsupportedOpcode(opcode: String, offset: Int, reason: String)
    case pickleStackUnderflow(opcode: String, offset: Int)
    case pickleMemoMissing(index: Int, offset: Int)
    case pickleLimitExceeded(what: String, limit: Int, offset: Int)
    /// An opcode's operands or arguments are not what it needs.
    case pickleInvalidArgument(opcode: String, offset: Int, reason: String)

    // MARK: PyTorch checkpoints
    /// The pre-1.6 torch.save format (a pickle stream, not a ZIP archive).
    case pytorchLegacyFormat
    case pytorchUnsupportedByteOrder(found: String)
    case pytorchNoStateDict(reason: String)
    case pytorchInvalidTensor(tensor: String, reason: String)
    /// A storage's archive entry holds fewer bytes than the storage or tensor needs.
    case pytorchStorageTooSmall(tensor: String, entry: String, needed: Int, available: Int)
    /// Two files of a directory hold a tensor of the same name (Meta's model-parallel shards).
    case pytorchShardsOverlap(directory: String, first: String, second: String, tensor: String)

    // MARK: Values
    case unsupportedConversion(tensor: String, dtype: String, reason: String)
    case unsupportedByteOrder(tensor: String, dtype: String)

    /// The innermost error, looking through `.inFile` wrappers.
    public var root: FormatError {
        if case .inFile(_, let inner) = self { return inner.root }
        return self
    }

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open \(path): \(reason)"
        case .zstdFailed(let path, let offset, let reason):
            return "\(path): zstd decompression failed at compressed byte \(offset): \(reason)"
        case .notARegularFile(let path): return "\(path) is not a regular file"
        case .specialFile(let path, let kind): return "\(path) is \(kind); only regular files and directories are read"
        case .emptyFile(let path): return "\(path) is empty"
        case .fileTooLarge(let path, let size, let limit):
            return "\(path) is \(size) bytes; at most \(limit) are read for this kind of file"
        case .unrecognizedFormat(let path, let reason): return "\(path): \(reason)"
        case .inFile(let path, let inner): return "\(path): \(inner.description)"

        case .truncated(let field, let offset, let needed, let available):
            return "file ends inside \(field) at offset \(offset): needs \(needed) bytes, \(available) left"
        case .badMagic(let found):
            return "not a GGUF file: magic is \(found.map { hex($0) }.joined(separator: " ")), expected 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(let version):
            return "GGUF version \(version) is not supported (versions 2 and 3 are)"
        case .countTooLarge(let field, let count, let offset, let limit):
            return "\(field) at offset \(offset) is \(count), but the bytes left allow at most \(limit)"
        case .unknownValueType(let key, let type, let offset):
            return "key '\(key)': unknown value type \(type) at offset \(offset) (0...12 are defined)"
        case .invalidBool(let key, let value, let offset):
            return "key '\(key)': bool at offset \(offset) is \(value), must be 0 or 1"
        case .invalidUTF8(let field, let offset):
            return "\(field) at offset \(offset) is not valid UTF-8"
        case .emptyKey(let offset): return "empty metadata key at offset \(offset)"
        case .duplicateKey(let key, let offset): return "duplicate key '\(key)' at offset \(offset)"
        case .arrayNestingTooDeep(let key, let offset, let limit):
            return "key '\(key)': arrays nested more than \(limit) deep at offset \(offset)"
        case .wrongValueType(let key, let expected, let found):
            return "key '\(key)' has type \(found), expected \(expected)"
        case .invalidAlignment(let value):
            return "general.alignment is \(value); it must be a non-zero power of two"
        case .dataSectionPastEnd(let dataOffset, let fileSize):
            return "the tensor data section would start at offset \(dataOffset), past the end of the file (\(fileSize) bytes)"

        case .duplicateTensor(let name): return "duplicate tensor name '\(name)'"
        case .tensorNameTooLong(let name, let length, let limit):
            return "tensor name '\(name.prefix(80))' is \(length) bytes; at most \(limit) are allowed"
        case .tooManyDimensions(let tensor, let count, let limit):
            return "tensor '\(tensor)' has \(count) dimensions; at most \(limit) are allowed"
        case .invalidDimension(let tensor, let index, let value):
            return "tensor '\(tensor)': dimension \(index) is \(value), must be a non-negative integer"
        case .shapeOverflow(let tensor):
            return "tensor '\(tensor)': element count or byte size overflows"
        case .rowNotMultipleOfBlock(let tensor, let rowLength, let blockSize, let type):
            return "tensor '\(tensor)': row length \(rowLength) is not a multiple of \(type)'s block size \(blockSize)"
        case .unknownTensorType(let tensor, let id):
            return "tensor '\(tensor)': unknown ggml type id \(id)"
        case .removedTensorType(let tensor, let id, let name):
            return "tensor '\(tensor)': ggml type \(id) (\(name)) was removed from ggml and is not supported"
        case .tensorOffsetUnaligned(let tensor, let offset, let alignment):
            return "tensor '\(tensor)': data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let tensor, let offset, let size, let fileSize):
            return "tensor '\(tensor)': \(size) bytes at offset \(offset) lie past the end of the file (\(fileSize) bytes)"
        case .tensorsOverlap(let first, let second, let offset):
            return "tensors '\(first)' and '\(second)' overlap at offset \(offset)"
        case .tensorNotFound(let name): return "no tensor named '\(name)'"
        case .viewExpandsStorage(let tensor, let shape, let strides, let storageBytes, let bytes, let limit):
            return "tensor '\(tensor)': a view of shape \(shape) with strides \(strides) reads \(storageBytes) bytes of storage "
                + "but is \(bytes) bytes row-major, more than \(limit) bytes over its storage; it is not copied"
        case .rowOutOfRange(let tensor, let index, let rowCount):
            return "tensor '\(tensor)': row \(index) is out of range (it has \(rowCount) rows)"

        case .headerTooSmall(let fileSize):
            return "not a safetensors file: \(fileSize) bytes, fewer than the 8-byte header length"
        case .headerTooLarge(let length, let limit):
            return "safetensors header length \(length) exceeds the limit of \(limit) bytes"
        case .headerPastEnd(let length, let fileSize):
            return "safetensors header length \(length) runs past the end of the file (\(fileSize) bytes)"
        case .invalidJSON(let offset, let reason): return "invalid JSON at offset \(offset): \(reason)"
        case .jsonNestingTooDeep(let offset, let limit):
            return "JSON nested more than \(limit) levels deep at offset \(offset)"
        case .headerNotObject: return "safetensors header is not a JSON object"
        case .missingField(let tensor, let field): return "tensor '\(tensor)': missing field '\(field)'"
        case .wrongFieldType(let tensor, let field, let expected):
            return "tensor '\(tensor)': field '\(field)' must be \(expected)"
        case .unknownDType(let tensor, let dtype): return "tensor '\(tensor)': unknown dtype '\(dtype)'"
        case .byteSizeMismatch(let tensor, let expected, let found):
            return "tensor '\(tensor)': shape and dtype need \(expected) bytes, data_offsets give \(found)"
        case .subByteSizeNotWhole(let tensor, let dtype, let bits):
            return "tensor '\(tensor)': \(bits) bits of \(dtype) do not fill whole bytes"
        case .offsetsReversed(let tensor, let begin, let end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] end before they begin"
        case .offsetsGap(let tensor, let expected, let found):
            return "tensor '\(tensor)': data begins at \(found), expected \(expected) (a gap in the data)"
        case .offsetsOverlap(let tensor, let previousEnd, let begin):
            return "tensor '\(tensor)': data begins at \(begin), inside the previous tensor (which ends at \(previousEnd))"
        case .trailingBytes(let dataEnd, let fileSize):
            return "tensor data ends at \(dataEnd) but the file has \(fileSize) bytes"
        case .metadataNotString(let key): return "__metadata__ value for '\(key)' is not a string"

        case .splitPartMissing(let path, let part, let count):
            return "split part \(part) of \(count) is missing: \(path)"
        case .splitMismatch(let path, let reason): return "\(path): \(reason)"
        case .shardIndexInvalid(let path, let reason): return "\(path): \(reason)"
        case .shardMissing(let path, let referencedBy): return "shard \(path) listed in \(referencedBy) is missing"
        case .noWeightFiles(let directory):
            return "\(directory) holds no .safetensors, .gguf or PyTorch (.bin, .pth, .pt) files"

        case .zipEndRecordMissing(let fileSize):
            return "not a ZIP archive: no end of central directory record in the last bytes of the file (\(fileSize) bytes)"
        case .zipBadSignature(let structure, let offset, let found):
            return "\(structure) at offset \(offset) has signature 0x\(String(found, radix: 16)), which is not one"
        case .zipStructureOutOfBounds(let structure, let offset, let size, let fileSize):
            return "\(structure): \(size) bytes at offset \(offset) lie outside the archive (\(fileSize) bytes)"
        case .zipInvalid(let structure, let offset, let reason):
            return "\(structure) at offset \(offset): \(reason)"
        case .zipMultipleDisks(let offset):
            return "the ZIP archive spans several disks (record at offset \(offset)); only single-file archives are read"
        case .zipDuplicateEntry(let name): return "the ZIP archive holds two entries named '\(name)'"
        case .zipEntryMissing(let name): return "the ZIP archive has no entry '\(name)'"
        case .zipEntryEncrypted(let name): return "ZIP entry '\(name)' is encrypted"
        case .zipEntryCompressed(let name, let method):
            return "ZIP entry '\(name)' is compressed (method \(method)\(method == 8 ? ", deflate" : "")); only stored (uncompressed) entries can be mapped, as torch.save writes them"
        case .zipEntryOutOfBounds(let name, let offset, let size, let fileSize):
            return "ZIP entry '\(name)': \(size) bytes at offset \(offset) lie past the end of the file (\(fileSize) bytes)"

        case .pickleForbiddenGlobal(let module, let name, let offset):
            return "the pickle names \(module).\(name) at offset \(offset), which is not on the allow-list of state-dict types (collections.OrderedDict, torch._utils._rebuild_tensor_v2/v3, _rebuild_parameter, the torch storage and dtype types); nothing was executed"
        case .pickleUnknownOpcode(let opcode, let offset):
            return "unknown pickle opcode 0x\(hex(opcode)) at offset \(offset)"
        case .pickleUnsupportedOpcode(let opcode, let offset, let reason):
            return "pickle opcode \(opcode) at offset \(offset) is not supported: \(reason)"
        case .pickleStackUnderflow(let opcode, let offset):
            return "pickle opcode \(opcode) at offset \(offset) needs more values than the stack holds"
        case .pickleMemoMissing(let index, let offset):
            return "pickle memo read at offset \(offset) asks for entry \(index), which was never stored"
        case .pickleLimitExceeded(let what, let limit, let offset):
            return "pickle at offset \(offset): \(what) exceeds the limit of \(limit)"
        case .pickleInvalidArgument(let opcode, let offset, let reason):
            return "pickle opcode \(opcode) at offset \(offset): \(reason)"

        case .pytorchLegacyFormat:
            return "this is the legacy PyTorch format (torch.save before 1.6, or _use_new_zipfile_serialization=False), which is not supported; load it in PyTorch and save it again with torch.save"
        case .pytorchUnsupportedByteOrder(let found):
            return "the archive's byteorder record is '\(found)'; only little-endian PyTorch checkpoints are read"
        case .pytorchNoStateDict(let reason): return "no state dict found: \(reason)"
        case .pytorchInvalidTensor(let tensor, let reason): return "tensor '\(tensor)': \(reason)"
        case .pytorchStorageTooSmall(let tensor, let entry, let needed, let available):
            return "tensor '\(tensor)': its storage '\(entry)' needs \(needed) bytes but the entry holds \(available)"
        case .pytorchShardsOverlap(let directory, let first, let second, let tensor):
            return "\(directory): \(first) and \(second) both hold '\(tensor)'; model-parallel shards (each a slice of every tensor) are not merged, open one file on its own"

        case .unsupportedConversion(let tensor, let dtype, let reason):
            return "tensor '\(tensor)' (\(dtype)): \(reason)"
        case .unsupportedByteOrder(let tensor, let dtype):
            return "tensor '\(tensor)': \(dtype) data in a big-endian file is not supported"
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
