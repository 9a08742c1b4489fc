/// PyTorch checkpoints: the ZIP archives `torch.save` has written since PyTorch 1.6
/// (`.pth`, `.pt`, Hugging Face's `pytorch_model.bin`, Meta's `consolidated.00.pth`).
///
/// Layout of the archive (every entry stored, uncompressed; torch.save pads each local header's
/// extra field so that data starts on a multiple of 64 bytes):
///
///     <archive>/data.pkl               the pickled object (protocol 2): usually a dict of
///                                      tensors; each tensor is _rebuild_tensor_v2(storage,
///                                      storage_offset, size, stride, ...) and each storage a
///                                      persistent id ("storage", torch.FloatStorage, key,
///                                      location, element count)
///     <archive>/.format_version        "1"
///     <archive>/.storage_alignment     "64"
///     <archive>/byteorder              "little" or "big" (absent in old files: little)
///     <archive>/data/<key>             one storage's raw bytes, row-major, in that byte order
///     <archive>/version                serialization version
///     <archive>/.data/serialization_id
///
/// `<archive>` is the first entry's top directory (the file's stem when torch.save named it).
///
/// Reading: the ZIP directory is checked (`ZipArchive`), the pickle is interpreted with no
/// code execution (`PickleMachine`; only the globals of `PickleAllowList`), the state dict is
/// found (`PyTorchStateDict.find`), and every tensor is checked against its storage entry
/// before a view is made. Contiguous tensors (stride row-major, the usual case) are views into
/// the mapped archive, copying nothing; a strided tensor (a transposed or sliced view saved as
/// is, an expanded tensor with stride 0) is copied into contiguous row-major memory when the
/// file opens, so every `TensorView` is row-major. Files written before PyTorch 1.6 (a bare
/// pickle stream) and big-endian archives are refused with a clear error.
public enum PyTorchLimits {
    /// The pickled magic number that starts a legacy (pre-1.6) torch.save file:
    /// PROTO 2, LONG1 of 10 bytes, 0x1950a86a20f9469cfc6c little-endian.
    public static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]
    /// Values the state-dict search visits at most.
    public static let maxSearchVisits = 1_000_000
    /// The longest `byteorder` record read.
    static let maxByteOrderRecord = 16
}

/// One tensor of a PyTorch state dict as the file stores it.
public struct PyTorchTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major shape (PyTorch's `size`).
    public let shape: [Int]
    /// Element strides as saved (row-major for a contiguous tensor).
    public let strides: [Int]
    /// The archive key of the storage: its bytes are the entry `<archive>/data/<key>`.
    public let storageKey: String
    /// The tensor's first element within its storage, in elements.
    public let storageOffset: Int
    /// Absolute offset in the file of the tensor's first element.
    public let offset: Int
    /// Bytes of the tensor once row-major: element count × element size.
    public let byteCount: Int
    /// Whether the strides are row-major, so the bytes are viewed in place.
    public let isContiguous: Bool
}

/// A parsed and validated PyTorch zip checkpoint.
public final class PyTorchFile: Sendable {
    public let file: MappedFile
    public let archive: ZipArchive
    /// The top directory of the archive's entries.
    public let archiveName: String
    /// Where the state dict was found: dict keys (and `[index]` for lists) from the top-level
    /// object; empty when the top-level object is the state dict.
    public let stateDictPath: [String]
    /// Tensors in state-dict order.
    public let tensorInfos: [PyTorchTensorInfo]
    /// Views of the tensors, in state-dict order: into the mapping for contiguous tensors, into
    /// a row-major copy for strided ones.
    public let tensors: [TensorView]

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    /// Validates a mapped PyTorch zip checkpoint.
    ///
    /// - Throws: a `FormatError` wrapped in `.inFile(path, ...)`: `.pytorchLegacyFormat` for a
    ///   pre-1.6 file, ZIP errors, `.pickleForbiddenGlobal` naming a global outside the
    ///   allow-list, other pickle errors, `.pytorchNoStateDict`, tensor and storage errors.
    public init(file: MappedFile) throws {
        do {
            guard !PyTorchFile.isLegacyFormat(file) else { throw FormatError.pytorchLegacyFormat }
            let archive = try ZipArchive(file: file)
            let parsed = try PyTorchReader.read(file, archive)
            self.file = file
            self.archive = archive
            self.archiveName = parsed.archiveName
            self.stateDictPath = parsed.path
            self.tensorInfos = parsed.infos
            self.tensors = try PyTorchReader.views(parsed.infos, file: file)
        } catch let error as FormatError {
            throw FormatError.inFile(file.path, error)
        }
    }

    /// Whether the file starts like a legacy (pre-1.6, non-zip) torch.save stream.
    public static func isLegacyFormat(_ file: MappedFile) -> Bool {
        file.size >= PyTorchLimits.legacyMagic.count && Array(file.bytes[0..<PyTorchLimits.legacyMagic.count]) == PyTorchLimits.legacyMagic
    }

    /// Whether the file starts with a ZIP local header ("PK\x03\x04").
    public static func looksLikeZip(_ file: MappedFile) -> Bool {
        file.size >= 4 && Array(file.bytes[0..<4]) == ZipLimits.magic
    }
}

enum PyTorchReader {
    struct Parsed {
        var archiveName: String
        var path: [String]
        var infos: [PyTorchTensorInfo]
    }

    static func read(_ file: MappedFile, _ archive: ZipArchive) throws -> Parsed {
        // 1. The archive's top directory and its records, as PyTorch's stream reader finds them.
        guard let first = archive.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw FormatError.zipEntryMissing(name: "<archive>/data.pkl")
        }
        let archiveName = String(first.name[..<slash])
        let pickleName = archiveName + "/data.pkl"
        guard let pickleEntry = archive.entry(named: pickleName) else { throw FormatError.zipEntryMissing(name: pickleName) }
        if let orderEntry = archive.entry(named: archiveName + "/byteorder") {
            let range = try archive.storedData(of: orderEntry)
            let text = range.count <= PyTorchLimits.maxByteOrderRecord
                ? UnsafeRawBufferPointer(rebasing: file.bytes[range]).lossyString : "(\(range.count) bytes)"
            guard text == "little" else { throw FormatError.pytorchUnsupportedByteOrder(found: text) }
        }

        // 2. The pickle, run without calling anything.
        let pickleRange = try archive.storedData(of: pickleEntry)
        let machine = PickleMachine(bytes: UnsafeRawBufferPointer(rebasing: file.bytes[pickleRange]), baseOffset: pickleRange.lowerBound)
        let root = try machine.run()
        // The machine's arena owns the pickle's lists and dicts: keep it until they are read.
        defer { withExtendedLifetime(machine) {} }

        // 3. The state dict, then each tensor checked against its storage.
        let (path, entries) = try PyTorchStateDict.find(in: root)
        var storageRanges: [String: Range<Int>] = [:]
        var infos: [PyTorchTensorInfo] = []
        infos.reserveCapacity(entries.count)
        for (name, tensor) in entries {
            let entryName = archiveName + "/data/" + tensor.storage.key
            let range: Range<Int>
            if let known = storageRanges[tensor.storage.key] {
                range = known
            } else {
                guard let entry = archive.entry(named: entryName) else { throw FormatError.zipEntryMissing(name: entryName) }
                range = try archive.storedData(of: entry)
                storageRanges[tensor.storage.key] = range
            }
            infos.append(try info(name: name, tensor, storageEntry: entryName, data: range))
        }
        return Parsed(archiveName: archiveName, path: path, infos: infos)
    }

    /// Checks a tensor's shape, strides and extent against its storage's declared size and
    /// the bytes of its archive entry.
    static func info(name: String, _ tensor: PickleTensor, storageEntry: String, data: Range<Int>) throws -> PyTorchTensorInfo {
        let elementSize = tensor.dtype.bitWidth / 8
        var elements = 1
        for dimension in tensor.shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
            elements = product
        }
        let (byteCount, bytesOverflow) = elements.multipliedReportingOverflow(by: elementSize)
        guard !bytesOverflow else { throw FormatError.shapeOverflow(tensor: name) }

        // Bytes the storage declares (its element count; bytes for an untyped storage).
        let storageElementSize = tensor.storage.dtype.map { $0.bitWidth / 8 } ?? 1
        let (declaredBytes, declaredOverflow) = tensor.storage.count.multipliedReportingOverflow(by: storageElementSize)
        guard !declaredOverflow else { throw FormatError.shapeOverflow(tensor: name) }
        guard declaredBytes <= data.count else {
            throw FormatError.pytorchStorageTooSmall(tensor: name, entry: storageEntry, needed: declaredBytes, available: data.count)
        }

        // The last element the tensor reaches: offset + sum((size - 1) * stride).
        let (offsetBytes, offsetOverflow) = tensor.storageOffset.multipliedReportingOverflow(by: elementSize)
        guard !offsetOverflow, offsetBytes <= declaredBytes else {
            throw FormatError.pytorchInvalidTensor(
                tensor: name, reason: "storage offset \(tensor.storageOffset) lies past the end of its storage '\(tensor.storage.key)' (\(declaredBytes) bytes)")
        }
        var isContiguous = true
        if elements > 0 {
            var lastIndex = tensor.storageOffset
            var expectedStride = 1
            for (size, stride) in zip(tensor.shape, tensor.strides).reversed() {
                let (reach, reachOverflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, sumOverflow) = lastIndex.addingReportingOverflow(reach)
                guard !reachOverflow, !sumOverflow else { throw FormatError.shapeOverflow(tensor: name) }
                lastIndex = sum
                if size != 1 && stride != expectedStride { isContiguous = false }
                expectedStride = expectedStride &* size
            }
            let (end, endOverflow) = (lastIndex + 1).multipliedReportingOverflow(by: elementSize)
            guard !endOverflow else { throw FormatError.shapeOverflow(tensor: name) }
            guard end <= declaredBytes else {
                throw FormatError.pytorchInvalidTensor(
                    tensor: name, reason: "shape \(tensor.shape) with strides \(tensor.strides) from element \(tensor.storageOffset) reaches byte \(end) of storage '\(tensor.storage.key)', which has \(declaredBytes)")
            }
        }
        return PyTorchTensorInfo(
            name: name, dtype: tensor.dtype, shape: tensor.shape, strides: tensor.strides, storageKey: tensor.storage.key,
            storageOffset: tensor.storageOffset, offset: data.lowerBound + offsetBytes, byteCount: byteCount, isContiguous: isContiguous)
    }

    /// Views for checked tensors: in place when contiguous, a strided view otherwise (its
    /// row-major bytes made only when a reader needs them: `StridedSource`).
    static func views(_ infos: [PyTorchTensorInfo], file: MappedFile) throws -> [TensorView] {
        infos.map { info in
            if info.isContiguous || info.byteCount == 0 {
                return TensorView(
                    name: info.name, dtype: .safetensors(info.dtype), shape: info.shape, file: file, offset: info.offset,
                    byteCount: info.byteCount, fileName: file.fileName)
            }
            let elementSize = info.dtype.bitWidth / 8
            var last = 0
            for (size, stride) in zip(info.shape, info.strides) { last += (size - 1) * stride }
            let source = StridedSource(
                file: file, offset: info.offset, shape: info.shape, strides: info.strides, elementSize: elementSize,
                storageSpan: (last + 1) * elementSize)
            return TensorView(name: info.name, dtype: .safetensors(info.dtype), shape: info.shape, strided: source, fileName: file.fileName)
        }
    }
}

/// Which dict of the unpickled object is the state dict.
///
/// The rule: the first dict, in breadth-first order from the top-level object (dict values and
/// list and tuple items in their order), whose keys are all strings and whose values are all
/// tensors. An empty top-level dict is an empty state dict. So `{"model": state_dict,
/// "epoch": 3}` and `{"state_dict": {...}}` find the inner dict; a checkpoint holding two
/// (a model and its EMA copy) finds the first, and `PyTorchFile.stateDictPath` says which.
enum PyTorchStateDict {
    static func find(in root: PickleValue) throws -> (path: [String], entries: [(String, PickleTensor)]) {
        if case .dict(let dict) = root, dict.entries.isEmpty { return ([], []) }
        // Breadth first; each queued value keeps its parent's queue index and its own path
        // component, and the path is built only for the dict found, so deep nesting costs
        // memory linear in the values visited (a path per value would be quadratic).
        var queue: [(value: PickleValue, parent: Int, component: String)] = [(root, -1, "")]
        var head = 0
        var seen = Set<ObjectIdentifier>()
        func path(to index: Int) -> [String] {
            var components: [String] = []
            var at = index
            while at > 0 {
                components.append(queue[at].component)
                at = queue[at].parent
            }
            return components.reversed()
        }
        while head < queue.count {
            guard head < PyTorchLimits.maxSearchVisits else {
                throw FormatError.pytorchNoStateDict(reason: "no dict of tensors among the first \(PyTorchLimits.maxSearchVisits) values")
            }
            let current = head
            let value = queue[head].value
            head += 1
            switch value {
            case .dict(let dict):
                guard seen.insert(ObjectIdentifier(dict)).inserted else { continue }
                if let entries = tensorEntries(dict) { return (path(to: current), entries) }
                for (key, child) in dict.entries where child.mayHoldTensors {
                    queue.append((child, current, key.stringValue ?? "[\(key.kind)]"))
                }
            case .list(let list):
                guard seen.insert(ObjectIdentifier(list)).inserted else { continue }
                for (index, child) in list.items.enumerated() where child.mayHoldTensors {
                    queue.append((child, current, "[\(index)]"))
                }
            case .tuple(let items, _):
                for (index, child) in items.enumerated() where child.mayHoldTensors {
                    queue.append((child, current, "[\(index)]"))
                }
            default:
                continue
            }
        }
        throw FormatError.pytorchNoStateDict(reason: "the file holds \(describe(root)), and no dict in it maps names to tensors only")
    }

    /// The entries of `dict` when it maps strings to tensors and is not empty. A key set twice
    /// keeps its first position and its last value, as a Python dict (and so torch.load) does.
    static func tensorEntries(_ dict: PickleDict) -> [(String, PickleTensor)]? {
        guard !dict.entries.isEmpty else { return nil }
        var result: [(String, PickleTensor)] = []
        var position: [String: Int] = [:]
        result.reserveCapacity(dict.entries.count)
        for (key, value) in dict.entries {
            guard let name = key.stringValue, case .tensor(let tensor) = value else { return nil }
            if let index = position[name] {
                result[index].1 = tensor
            } else {
                position[name] = result.count
                result.append((name, tensor))
            }
        }
        return result
    }

    static func describe(_ value: PickleValue) -> String {
        switch value {
        case .dict(let dict):
            let keys = dict.entries.prefix(5).map { $0.key.stringValue.map { "'\($0)'" } ?? $0.key.kind }
            return "a dict of \(dict.entries.count) (keys \(keys.joined(separator: ", "))\(dict.entries.count > 5 ? ", …" : ""))"
        case .list(let list): return "a list of \(list.items.count)"
        default: return value.kind
        }
    }
}

extension PickleValue {
    /// Whether the state-dict search should look inside this value.
    fileprivate var mayHoldTensors: Bool {
        switch self {
        case .dict, .list, .tuple: true
        default: false
        }
    }
}

// MARK: - Opening PyTorch checkpoints

extension Checkpoint {
    /// Opens one PyTorch zip checkpoint.
    static func openPyTorch(_ file: MappedFile) throws -> Checkpoint {
        let parsed = try PyTorchFile(file: file)
        return try Checkpoint(
            format: .pytorch, path: file.path, directory: PathName.directory(of: file.path), ggufParts: [], safetensorsFiles: [],
            tensors: parsed.tensors, pytorchFiles: [parsed])
    }

    /// Opens a `pytorch_model.bin.index.json` and every shard its `weight_map` names, checking
    /// that the index and the shards agree in both directions.
    static func openPyTorchIndex(_ indexPath: String, openedAs path: String) throws -> Checkpoint {
        let (files, tensors) = try loadShards(
            indexPath, open: PyTorchFile.init(path:), tensorNames: { $0.tensorInfos.map(\.name) }, views: { file, _ in file.tensors })
        return try Checkpoint(
            format: .pytorch, path: path, directory: PathName.directory(of: indexPath), ggufParts: [], safetensorsFiles: [],
            tensors: tensors, pytorchFiles: files)
    }

    /// A directory whose weights are PyTorch files, or nil when it holds none. In order of
    /// preference: a `*.bin.index.json` (Hugging Face shards), `pytorch_model.bin`, shards
    /// `pytorch_model-0000N-of-0000M.bin` without an index, Meta's `consolidated.NN.pth`, or a
    /// single `.pth`, `.pt` or `.bin` file.
    static func openPyTorchDirectory(_ directory: String, names: [String]) throws -> Checkpoint? {
        let regular = names.filter { FileSystem.isRegularFile(PathName.join(directory, $0)) }
        let indexes = regular.filter { $0.hasSuffix(".bin.index.json") || $0.hasSuffix(".pth.index.json") || $0.hasSuffix(".pt.index.json") }
        if indexes.contains("pytorch_model.bin.index.json") {
            return try openPyTorchIndex(PathName.join(directory, "pytorch_model.bin.index.json"), openedAs: directory)
        }
        if indexes.count == 1 {
            return try openPyTorchIndex(PathName.join(directory, indexes[0]), openedAs: directory)
        }
        let shards = regular.filter { $0.hasPrefix("pytorch_model-") && $0.hasSuffix(".bin") }
        let consolidated = regular.filter { $0.hasPrefix("consolidated.") && $0.hasSuffix(".pth") }
        let others = regular.filter { ["pth", "pt", "bin"].contains(PathName.fileExtension(of: $0)) }
        let chosen: [String]
        if regular.contains("pytorch_model.bin") {
            chosen = ["pytorch_model.bin"]
        } else if !shards.isEmpty {
            chosen = shards
        } else if !consolidated.isEmpty {
            chosen = consolidated
        } else if others.count == 1 {
            chosen = others
        } else {
            return nil
        }
        let files = try chosen.map { try PyTorchFile(path: PathName.join(directory, $0)) }
        // Meta's model-parallel shards hold a slice of every tensor under the same names.
        var fileOfTensor: [String: String] = [:]
        for (file, name) in zip(files, chosen) {
            for info in file.tensorInfos {
                if let other = fileOfTensor.updateValue(name, forKey: info.name), other != name {
                    throw FormatError.pytorchShardsOverlap(directory: directory, first: other, second: name, tensor: info.name)
                }
            }
        }
        return try Checkpoint(
            format: .pytorch, path: directory, directory: directory, ggufParts: [], safetensorsFiles: [],
            tensors: files.flatMap(\.tensors), pytorchFiles: files)
    }
}
