/// Applies `MetadataEdit`s to a GGUF file's metadata or a safetensors file's `__metadata__`.
///
/// Every edit is checked before anything is written. When the new header has exactly the old
/// header's size and every tensor keeps its offset (a same-length string, a number of the same
/// type, a string change absorbed by the alignment padding), only the changed header bytes are
/// overwritten in place, as llama.cpp's `gguf_set_metadata.py` does. Otherwise the file is
/// rewritten through a temporary file beside it (header, then the tensor data copied a piece
/// at a time) and renamed over the original, so a failure leaves the original as it was.
///
/// An edit of the file in place goes to the file a symlink points to (the symlink stays), and
/// a rewritten file keeps the original's mode and, where the process may set them, its owner
/// and group. With `output`, the original is only read: the edited file is written to
/// `output` (always rewritten, as gguf-py's `gguf_new_metadata.py` does).
public enum MetadataEditor {
    /// How an edit was written.
    public enum Outcome: Equatable, Sendable {
        /// Header bytes overwritten where they were (`bytes` changed; 0 when nothing changed).
        case inPlace(bytes: Int)
        /// The file was rewritten with a new header and its data re-aligned.
        case rewritten
    }

    /// Bytes copied per piece when a file is rewritten.
    static let copyPiece = 8 << 20

    /// Edits the metadata of the GGUF or safetensors file at `path`.
    ///
    /// - Throws: `MetadataEditError` for edits that cannot be made, `WriterError` or
    ///   `FormatError` for metadata the format forbids (`general.alignment` not a UINT32 power
    ///   of two), `WriteError` for I/O.
    ///
    /// - Parameters:
    ///   - output: write the edited file here instead, leaving `path` untouched; nil edits
    ///     `path` itself.
    ///   - overwrite: with `output`, replace an existing file there (never `path` itself, nor
    ///     any of `inputs`).
    ///   - inputs: further files the caller reads, which `output` may not be.
    public static func apply(
        _ edits: [MetadataEdit], to path: String, output: String? = nil, overwrite: Bool = false, inputs: InputFiles = InputFiles()
    ) throws -> Outcome {
        let target: Target
        if let output {
            var protected = inputs
            protected.add(path: path)
            target = Target(path: path, writePath: output, overwrite: overwrite, inputs: protected, attributesFrom: nil)
        } else {
            guard !ZstdDecompression.isCompressedPath(path) else {
                throw MetadataEditError.unsupportedFile(path: path, reason: "compressed files cannot be edited (decompress them first)")
            }
            let resolved = FileSystem.resolvedPath(path) ?? path
            target = Target(path: path, writePath: resolved, overwrite: true, inputs: InputFiles(), attributesFrom: resolved)
        }
        let file = try MappedFile(path: path)
        if file.size >= 4, Array(file.bytes[0..<4]) == GGUFLimits.magic {
            return try applyGGUF(edits, to: try GGUFFile(file: file), target: target)
        }
        return try applySafeTensors(edits, to: try SafeTensorsFile(file: file), target: target)
    }

    /// Where an edit goes: `path` itself (through symlinks, keeping its attributes) or a new file.
    struct Target {
        let path: String
        let writePath: String
        let overwrite: Bool
        let inputs: InputFiles
        /// The file whose mode and owner the rewritten file takes (the original, in place).
        let attributesFrom: String?
        var inPlace: Bool { attributesFrom != nil }

    }

    // MARK: GGUF

    /// The metadata with `edits` applied, in order.
    public static func edited(_ metadata: GGUFMetadata, _ edits: [MetadataEdit], path: String) throws -> GGUFMetadataList {
        var list = GGUFMetadataList(copying: metadata)
        for edit in edits {
            switch edit {
            case .delete(let key):
                guard list.contains(key) else { throw MetadataEditError.keyNotFound(key: key, path: path) }
                list[key] = nil
            case .set(let key, let type, let text):
                let existing = list[key]?.type
                if existing == .array && type == nil { throw MetadataEditError.arrayNotEditable(key: key) }
                guard let type = type ?? existing else { throw MetadataEditError.typeRequired(key: key) }
                list[key] = try MetadataEdit.value(text, as: type, key: key)
            }
        }
        return list
    }

    static func applyGGUF(_ edits: [MetadataEdit], to gguf: GGUFFile, target: Target) throws -> Outcome {
        let path = target.path
        guard gguf.byteOrder == .littleEndian else {
            throw MetadataEditError.unsupportedFile(path: path, reason: "big-endian GGUF files cannot be edited (convert them first)")
        }
        let metadata = try edited(gguf.metadata, edits, path: path)
        let layouts = gguf.tensorInfos.map { GGUFTensorLayout(name: $0.name, type: $0.type, shape: $0.shape) }
        let header = try GGUFWriter.header(metadata: metadata, tensors: layouts)
        if target.inPlace && header.bytes.count == gguf.dataOffset && header.relativeOffsets == gguf.tensorInfos.map(\.relativeOffset) {
            let old = UnsafeRawBufferPointer(rebasing: gguf.file.bytes[0..<gguf.dataOffset])
            return .inPlace(bytes: try InPlaceWrite.patch(path: target.writePath, old: old, new: header.bytes))
        }
        let writer = try GGUFWriter(
            destination: target.writePath, metadata: metadata, tensors: layouts, overwrite: target.overwrite, inputs: target.inputs)
        for info in gguf.tensorInfos {
            try copy(gguf.file, from: info.offset, count: info.byteCount) { try writer.write($0) }
        }
        if let original = target.attributesFrom { writer.output.takeAttributes(of: original) }
        try writer.commit()
        return .rewritten
    }

    // MARK: safetensors

    /// `__metadata__` with `edits` applied, in order; all values are strings.
    public static func edited(
        _ metadata: [(key: String, value: String)], _ edits: [MetadataEdit], path: String
    ) throws -> [(key: String, value: String)] {
        var pairs = metadata
        for edit in edits {
            switch edit {
            case .delete(let key):
                guard let index = pairs.firstIndex(where: { $0.key == key }) else {
                    throw MetadataEditError.keyNotFound(key: key, path: path)
                }
                pairs.remove(at: index)
            case .set(let key, let type, let value):
                if let type, type != .string {
                    throw MetadataEditError.typeNotStorable(key: key, type: type.name, format: "safetensors")
                }
                if let index = pairs.firstIndex(where: { $0.key == key }) {
                    pairs[index].value = value
                } else {
                    pairs.append((key, value))
                }
            }
        }
        return pairs
    }

    static func applySafeTensors(_ edits: [MetadataEdit], to file: SafeTensorsFile, target: Target) throws -> Outcome {
        let path = target.path
        let metadata = try edited(file.metadata, edits, path: path)
        let infos = file.tensorInfos.sorted { $0.dataBegin < $1.dataBegin }
        let layouts = infos.map { SafeTensorsTensorLayout(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        let header = try SafeTensorsWriter.header(metadata: metadata.isEmpty ? nil : metadata, tensors: layouts)
        let packed = infos.enumerated().allSatisfy { index, info in
            info.dataBegin == (index == 0 ? 0 : infos[index - 1].dataEnd)
        }
        if target.inPlace && packed && header.count <= file.dataOffset {
            // The JSON padded with spaces to the old length: every data offset stays.
            var bytes = header
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: file.dataOffset - header.count))
            withUnsafeBytes(of: UInt64(file.headerLength).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            let old = UnsafeRawBufferPointer(rebasing: file.file.bytes[0..<file.dataOffset])
            return .inPlace(bytes: try InPlaceWrite.patch(path: target.writePath, old: old, new: bytes))
        }
        let writer = try SafeTensorsWriter(
            destination: target.writePath, metadata: metadata.isEmpty ? nil : metadata, tensors: layouts, overwrite: target.overwrite,
            inputs: target.inputs)
        for info in infos {
            try copy(file.file, from: file.dataOffset + info.dataBegin, count: info.dataEnd - info.dataBegin) { try writer.write($0) }
        }
        if let original = target.attributesFrom { writer.output.takeAttributes(of: original) }
        try writer.commit()
        return .rewritten
    }

    /// Hands `count` bytes of `file` from `offset` to `sink` in pieces, releasing pages after use.
    static func copy(_ file: MappedFile, from offset: Int, count: Int, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var start = offset
        let end = offset + count
        while start < end {
            let piece = min(copyPiece, end - start)
            try sink(UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + piece)]))
            file.advise(.dontNeed, offset: start, count: piece)
            start += piece
        }
    }
}
