/// One logical checkpoint: a GGUF file or split set, a safetensors file, a sharded safetensors
/// checkpoint, a PyTorch zip checkpoint (or a directory of them), or a Hugging Face model
/// directory, seen as one list of tensor views.
///
/// Tensors are listed in file order: tensor-info order for GGUF (parts in split order),
/// data-offset order for safetensors (shards in index order), state-dict order for PyTorch
/// (files in name order).
public final class Checkpoint: Sendable {
    public enum Format: String, Sendable {
        case gguf, safetensors, pytorch
    }

    public let format: Format
    /// The path the checkpoint was opened from (a file, a split part or a directory).
    public let path: String
    /// The directory holding the files that names in `TensorView.fileName` are relative to.
    public let directory: String
    /// GGUF files in split order (one for an unsplit file); empty for safetensors.
    public let ggufParts: [GGUFFile]
    /// safetensors files in shard order; empty for GGUF.
    public let safetensorsFiles: [SafeTensorsFile]
    /// PyTorch zip checkpoints in name order; empty for the other formats.
    public let pytorchFiles: [PyTorchFile]
    public let tensors: [TensorView]
    private let tensorIndex: [String: Int]
    /// File offsets of PyTorch tensors whose views are row-major copies (strided tensors).
    private let copiedTensorOffsets: [String: Int]

    /// The GGUF metadata (the first part's for a split set).
    public var gguf: GGUFFile? { ggufParts.first }

    /// `__metadata__` of the first safetensors file, in file order.
    public var safetensorsMetadata: [(key: String, value: String)] { safetensorsFiles.first?.metadata ?? [] }

    /// The mapped files, in order.
    public var files: [MappedFile] {
        switch format {
        case .gguf: ggufParts.map(\.file)
        case .safetensors: safetensorsFiles.map(\.file)
        case .pytorch: pytorchFiles.map(\.file)
        }
    }

    /// The total size of the files in bytes.
    public var totalFileSize: Int { files.reduce(0) { $0 + $1.size } }

    init(
        format: Format, path: String, directory: String, ggufParts: [GGUFFile], safetensorsFiles: [SafeTensorsFile],
        tensors: [TensorView], pytorchFiles: [PyTorchFile] = []
    ) throws {
        self.format = format
        self.path = path
        self.directory = directory
        self.ggufParts = ggufParts
        self.safetensorsFiles = safetensorsFiles
        self.pytorchFiles = pytorchFiles
        self.tensors = tensors
        var copied: [String: Int] = [:]
        for file in pytorchFiles {
            for info in file.tensorInfos where !info.isContiguous && info.byteCount > 0 { copied[info.name] = info.offset }
        }
        self.copiedTensorOffsets = copied
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (position, tensor) in tensors.enumerated() {
            guard index.updateValue(position, forKey: tensor.name) == nil else {
                throw FormatError.inFile(path, .duplicateTensor(name: tensor.name))
            }
        }
        self.tensorIndex = index
    }

    /// Where `tensor`'s first element lies in its file (`tensor.fileName`): `tensor.offset`,
    /// except for a strided PyTorch tensor, whose view is a row-major copy.
    public func fileOffset(of tensor: TensorView) -> Int {
        copiedTensorOffsets[tensor.name] ?? tensor.offset
    }

    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> TensorView? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor called `name`.
    ///
    /// - Throws: `.tensorNotFound` when there is none.
    public func requireTensor(_ name: String) throws -> TensorView {
        guard let tensor = tensor(named: name) else { throw FormatError.tensorNotFound(name: name) }
        return tensor
    }

    /// Opens whatever `path` names: `.gguf` (any part of a split set), `.safetensors`, a
    /// `model.safetensors.index.json`, a PyTorch zip checkpoint (`.pth`, `.pt`, `.bin`) or its
    /// `pytorch_model.bin.index.json`, or a directory holding one of these.
    public static func open(_ path: String) throws -> Checkpoint {
        switch FileSystem.kind(of: path) {
        case .missing:
            throw FormatError.cannotOpen(path: path, reason: "no such file or directory")
        case .directory:
            return try openDirectory(path)
        case .other:
            throw FormatError.specialFile(path: path, kind: FileSystem.specialKind(of: path) ?? "not a regular file")
        case .regularFile:
            break
        }
        let name = PathName.lastComponent(of: path)
        if name.hasSuffix(".bin.index.json") || name.hasSuffix(".pth.index.json") || name.hasSuffix(".pt.index.json") {
            return try openPyTorchIndex(path, openedAs: path)
        }
        if name.hasSuffix(".index.json") {
            return try openShardIndex(path, openedAs: path)
        }
        let file = try MappedFile(path: path)
        if file.size >= 4, Array(file.bytes[0..<4]) == GGUFLimits.magic {
            return try openGGUF(file)
        }
        if PathName.fileExtension(of: path) == "gguf" {
            // Let the GGUF parser name the defect (wrong magic, truncation).
            return try openGGUF(file)
        }
        if PyTorchFile.looksLikeZip(file) || PyTorchFile.isLegacyFormat(file) || ["pth", "pt"].contains(PathName.fileExtension(of: path)) {
            return try openPyTorch(file)
        }
        if PathName.fileExtension(of: path) == "safetensors" || looksLikeSafeTensors(file) {
            let parsed = try SafeTensorsFile(file: file)
            return try Checkpoint(
                format: .safetensors, path: path, directory: PathName.directory(of: path), ggufParts: [],
                safetensorsFiles: [parsed], tensors: parsed.tensorViews())
        }
        throw FormatError.unrecognizedFormat(path: path, reason: "neither a GGUF file (magic \"GGUF\"), a safetensors file nor a PyTorch zip checkpoint")
    }

    private static func looksLikeSafeTensors(_ file: MappedFile) -> Bool {
        file.size >= 9 && file.bytes[8] == UInt8(ascii: "{")
    }

    // MARK: GGUF and split sets

    static func openGGUF(_ file: MappedFile) throws -> Checkpoint {
        let first = try GGUFFile(file: file)
        let directory = PathName.directory(of: file.path)
        guard let count = first.metadata.int("split.count"), count > 1 else {
            return try Checkpoint(
                format: .gguf, path: file.path, directory: directory, ggufParts: [first], safetensorsFiles: [],
                tensors: first.tensorViews())
        }
        let name = PathName.lastComponent(of: file.path)
        guard let pattern = SplitName(name), pattern.count == count else {
            throw FormatError.splitMismatch(
                path: file.path, reason: "split.count is \(count) but the name does not follow NAME-0000N-of-\(String(count).leftPadded(5)).gguf")
        }
        var parts: [GGUFFile] = []
        for number in 1...count {
            let partPath = PathName.join(directory, pattern.name(part: number))
            if number == pattern.part {
                parts.append(first)
                continue
            }
            guard FileSystem.isRegularFile(partPath) else {
                throw FormatError.splitPartMissing(path: partPath, part: number, count: count)
            }
            parts.append(try GGUFFile(path: partPath))
        }
        for (index, part) in parts.enumerated() {
            guard part.metadata.int("split.no") == index else {
                throw FormatError.splitMismatch(path: part.file.path, reason: "split.no is \(part.metadata.int("split.no").map(String.init) ?? "missing"), expected \(index)")
            }
            guard part.metadata.int("split.count") == count else {
                throw FormatError.splitMismatch(path: part.file.path, reason: "split.count differs from the other parts")
            }
        }
        let tensors = parts.flatMap { $0.tensorViews(displayName: PathName.lastComponent(of: $0.file.path)) }
        if let expected = parts[0].metadata.int("split.tensors.count"), expected != tensors.count {
            throw FormatError.splitMismatch(path: parts[0].file.path, reason: "split.tensors.count is \(expected) but the parts hold \(tensors.count) tensors")
        }
        return try Checkpoint(
            format: .gguf, path: file.path, directory: directory, ggufParts: parts, safetensorsFiles: [], tensors: tensors)
    }

    // MARK: safetensors shards and directories

    static func openShardIndex(_ indexPath: String, openedAs path: String) throws -> Checkpoint {
        let (files, tensors) = try loadShards(
            indexPath, open: SafeTensorsFile.init(path:), tensorNames: { $0.tensorInfos.map(\.name) },
            views: { $0.tensorViews(displayName: $1) })
        return try Checkpoint(
            format: .safetensors, path: path, directory: PathName.directory(of: indexPath), ggufParts: [],
            safetensorsFiles: files, tensors: tensors)
    }

    /// Opens every shard a `*.index.json` names (in name order, which is their number order) and
    /// checks that the index and the shards agree in both directions.
    static func loadShards<Shard>(
        _ indexPath: String, open: (String) throws -> Shard, tensorNames: (Shard) -> [String],
        views: (Shard, _ shardName: String) -> [TensorView]
    ) throws -> (files: [Shard], tensors: [TensorView]) {
        let directory = PathName.directory(of: indexPath)
        let shardOfTensor = try readWeightMap(indexPath)
        let shardNames = Set(shardOfTensor.values).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var files: [Shard] = []
        var tensors: [TensorView] = []
        for shardName in shardNames {
            let shardPath = PathName.join(directory, shardName)
            guard FileSystem.isRegularFile(shardPath) else {
                throw FormatError.shardMissing(path: shardPath, referencedBy: PathName.lastComponent(of: indexPath))
            }
            let shard = try open(shardPath)
            for name in tensorNames(shard) where shardOfTensor[name] != shardName {
                throw FormatError.shardIndexInvalid(
                    path: indexPath, reason: "tensor '\(name)' is stored in \(shardName) but the index "
                        + (shardOfTensor[name].map { "places it in \($0)" } ?? "does not list it"))
            }
            files.append(shard)
            tensors.append(contentsOf: views(shard, shardName))
        }
        if tensors.count != shardOfTensor.count {
            let present = Set(tensors.map(\.name))
            let missing = shardOfTensor.keys.filter { !present.contains($0) }.sorted()
            throw FormatError.shardIndexInvalid(
                path: indexPath, reason: "tensors listed but missing from their shards: \(missing.prefix(5).joined(separator: ", "))")
        }
        return (files, tensors)
    }

    /// The `weight_map` of a shard index: tensor name to shard file name (inside the directory).
    static func readWeightMap(_ indexPath: String) throws -> [String: String] {
        let json: JSONValue
        do {
            json = try JSON.parse(try FileSystem.readFile(indexPath))
        } catch let error as FormatError {
            throw FormatError.inFile(indexPath, error)
        }
        guard let weightMap = json["weight_map"]?.objectValue else {
            throw FormatError.shardIndexInvalid(path: indexPath, reason: "no \"weight_map\" object")
        }
        var shardOfTensor: [String: String] = [:]
        for (tensor, shard) in weightMap {
            guard let shardName = shard.stringValue, !shardName.isEmpty, !shardName.hasPrefix("/"),
                  !shardName.split(separator: "/").contains("..")
            else {
                throw FormatError.shardIndexInvalid(path: indexPath, reason: "weight_map entry for '\(tensor)' is not a file name")
            }
            shardOfTensor[tensor] = shardName
        }
        return shardOfTensor
    }

    static func openDirectory(_ directory: String) throws -> Checkpoint {
        let names = try FileSystem.contentsOfDirectory(directory)
        let indexNames = names.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexNames.contains("model.safetensors.index.json") {
            return try openShardIndex(PathName.join(directory, "model.safetensors.index.json"), openedAs: directory)
        }
        if indexNames.count == 1 {
            return try openShardIndex(PathName.join(directory, indexNames[0]), openedAs: directory)
        }
        var safetensors = names.filter { $0.hasSuffix(".safetensors") && FileSystem.isRegularFile(PathName.join(directory, $0)) }
        // Meta's checkpoints are `consolidated.*`: other files beside them (a value head saved
        // next to the model) are not part of the checkpoint.
        let consolidated = safetensors.filter { $0.hasPrefix("consolidated.") }
        if !consolidated.isEmpty { safetensors = consolidated }
        if !safetensors.isEmpty {
            let files = try safetensors.map { try SafeTensorsFile(path: PathName.join(directory, $0)) }
            let tensors = zip(files, safetensors).flatMap { $0.tensorViews(displayName: $1) }
            return try Checkpoint(
                format: .safetensors, path: directory, directory: directory, ggufParts: [], safetensorsFiles: files, tensors: tensors)
        }
        let ggufs = names.filter { $0.hasSuffix(".gguf") }
        if let first = ggufs.first(where: { SplitName($0)?.part == 1 }) ?? (ggufs.count == 1 ? ggufs.first : nil) {
            return try openGGUF(try MappedFile(path: PathName.join(directory, first)))
        }
        if let pytorch = try openPyTorchDirectory(directory, names: names) {
            return pytorch
        }
        throw FormatError.noWeightFiles(directory: directory)
    }
}

/// A split-set file name: `NAME-0000N-of-0000M.gguf` (llama.cpp's `llama_split_path`).
struct SplitName {
    let prefix: String
    let part: Int
    let count: Int

    init?(_ fileName: String) {
        guard fileName.hasSuffix(".gguf") else { return nil }
        let stem = fileName.dropLast(5)
        let pieces = stem.split(separator: "-", omittingEmptySubsequences: false)
        guard pieces.count >= 4, pieces[pieces.count - 2] == "of" else { return nil }
        let partText = pieces[pieces.count - 3], countText = pieces[pieces.count - 1]
        guard partText.count == 5, countText.count == 5, let part = Int(partText), let count = Int(countText),
              part >= 1, part <= count
        else { return nil }
        self.prefix = pieces[0..<(pieces.count - 3)].joined(separator: "-")
        self.part = part
        self.count = count
    }

    func name(part: Int) -> String {
        "\(prefix)-\(String(part).leftPadded(5))-of-\(String(count).leftPadded(5)).gguf"
    }
}

extension String {
    /// Pads with leading zeros to `width` characters.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension InputFiles {
    /// Adds everything `checkpoint` reads: its mapped files (every part of a split set, every
    /// shard), the path it was opened from, and when that is a directory, the directory and
    /// the regular files in it (config.json, tokenizer files, indexes).
    public mutating func add(_ checkpoint: Checkpoint) {
        for file in checkpoint.files { add(file) }
        add(path: checkpoint.path)
        if FileSystem.isDirectory(checkpoint.path) {
            for name in (try? FileSystem.contentsOfDirectory(checkpoint.path)) ?? [] {
                let path = PathName.join(checkpoint.path, name)
                if FileSystem.isRegularFile(path) { add(path: path) }
            }
        }
    }

    /// The inputs of `checkpoint`, as `add(_:)` collects them.
    public init(_ checkpoint: Checkpoint) {
        self.init()
        add(checkpoint)
    }
}

extension InputFiles {
    /// Adds `path` and every file that opening it as a checkpoint reads (all parts of a split
    /// set, all shards, a directory's files), for commands that read a model through another
    /// layer (a model loader) but must still never write onto it. A path that does not open
    /// as a checkpoint adds itself (and, for a directory, its regular files) only.
    public mutating func add(checkpointAt path: String) {
        add(path: path)
        if let checkpoint = try? Checkpoint.open(path) {
            add(checkpoint)
        } else if FileSystem.isDirectory(path) {
            for name in (try? FileSystem.contentsOfDirectory(path)) ?? [] where FileSystem.isRegularFile(PathName.join(path, name)) {
                add(path: PathName.join(path, name))
            }
        }
    }
}
