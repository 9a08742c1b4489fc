/// Applies `MetadataEdit`s to a GGUF file's metadata or a safetensors file's `__metadata__`.
///
/// Every edit is checked before anything is written. When the new header has exactly the old
/// header's size and every tensor keeps its offset (a same-length string, a number of the same
/// type, a string change absorbed by the alignment padding), only the changed header bytes are
/// overwritten in place, as llama.cpp's `gguf_set_metadata.py` does. Otherwise the file is
/// rewritten through a temporary file beside it (header, then the tensor data copied a piece
/// at a time) and renamed over the original, so a failure leaves the original as it was.
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
    public static func apply(_ edits: [MetadataEdit], to path: String) throws -> Outcome {
        guard !ZstdDecompression.isCompressedPath(path) else {
            throw MetadataEditError.unsupportedFile(path: path, reason: "compressed files cannot be edited (decompress them first)")
        }
        let file = try MappedFile(path: path)
        if file.size >= 4, Array(file.bytes[0..<4]) == GGUFLimits.magic {
            return try applyGGUF(edits, to: try GGUFFile(file: file), path: path)
        }
        return try applySafeTensors(edits, to: try SafeTensorsFile(file: file), path: path)
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

    static func applyGGUF(_ edits: [MetadataEdit], to gguf: GGUFFile, path: String) throws -> Outcome {
        guard gguf.byteOrder == .littleEndian else {
            throw MetadataEditError.unsupportedFile(path: path, reason: "big-endian GGUF files cannot be edited (convert them first)")
        }
        let metadata = try edited(gguf.metadata, edits, path: path)
        let layouts = gguf.tensorInfos.map { GGUFTensorLayout(name: $0.name, type: $0.type, shape: $0.shape) }
        let header = try GGUFWriter.header(metadata: metadata, tensors: layouts)
        if header.bytes.count == gguf.dataOffset && header.relativeOffsets == gguf.tensorInfos.map(\.relativeOffset) {
            let old = UnsafeRawBufferPointer(rebasing: gguf.file.bytes[0..<gguf.dataOffset])
            return .inPlace(bytes: try InPlaceWrite.patch(path: path, old: old, new: header.bytes))
        }
        let writer = try GGUFWriter(destination: path, metadata: metadata, tensors: layouts, overwrite: true)
        for info in gguf.tensorInfos {
            try copy(gguf.file, from: info.offset, count: info.byteCount) { try writer.write($0) }
        }
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

    static func applySafeTensors(_ edits: [MetadataEdit], to file: SafeTensorsFile, path: String) throws -> Outcome {
        let metadata = try edited(file.metadata, edits, path: path)
        let infos = file.tensorInfos.sorted { $0.dataBegin < $1.dataBegin }
        let layouts = infos.map { SafeTensorsTensorLayout(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        let header = try SafeTensorsWriter.header(metadata: metadata.isEmpty ? nil : metadata, tensors: layouts)
        let packed = infos.enumerated().allSatisfy { index, info in
            info.dataBegin == (index == 0 ? 0 : infos[index - 1].dataEnd)
        }
        if packed && header.count <= file.dataOffset {
            // The JSON padded with spaces to the old length: every data offset stays.
            var bytes = header
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: file.dataOffset - header.count))
            withUnsafeBytes(of: UInt64(file.headerLength).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
            let old = UnsafeRawBufferPointer(rebasing: file.file.bytes[0..<file.dataOffset])
            return .inPlace(bytes: try InPlaceWrite.patch(path: path, old: old, new: bytes))
        }
        let writer = try SafeTensorsWriter(
            destination: path, metadata: metadata.isEmpty ? nil : metadata, tensors: layouts, overwrite: true)
        for info in infos {
            try copy(file.file, from: file.dataOffset + info.dataBegin, count: info.dataEnd - info.dataBegin) { try writer.write($0) }
        }
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
