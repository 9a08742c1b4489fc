/// Writes GGUF version 3 files (the layout is described at the top of `GGUF.swift`), streaming.
///
/// The header is complete before the first tensor byte: every tensor's name, type and shape are
/// given up front, which fixes every offset. Tensor data then arrives in pieces, in the order the
/// tensors were declared; each tensor is padded with zeros to the alignment, the last one too, as
/// llama.cpp's and gguf-py's writers do. Memory stays bounded by the header and the largest piece
/// a caller hands over, whatever the model size.
///
/// Everything goes to a temporary file beside the destination, renamed into place by `commit()`;
/// a writer dropped without committing removes it (see `OutputFile`).
public final class GGUFWriter: TensorFileWriter {
    public static let version: UInt32 = 3

    public let destination: String
    public let tensors: [GGUFTensorLayout]
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Each tensor's offset relative to the data section.
    public let relativeOffsets: [Int]
    /// The size the finished file will have.
    public let fileSize: Int

    /// Validates the layout, creates the temporary file and writes the header.
    ///
    /// - Parameters:
    ///   - metadata: key-value pairs in file order. `general.alignment`, when present, must be a
    ///     UINT32 power of two; it sets the alignment (32 otherwise).
    ///   - tensors: tensor infos in file order.
    ///   - overwrite: replace an existing destination on commit; otherwise it is an error now.
    ///   - inputs: files the caller reads, which the destination may never be (`InputFiles`).
    ///   - compression: write the file as one zstd frame (the caller names it `.zst`).
    /// - Throws: `FormatError` for a layout a reader would refuse, `WriterError` for malformed
    ///   metadata, `WriteError` for I/O.
    public init(destination: String, metadata: GGUFMetadataList, tensors: [GGUFTensorLayout], overwrite: Bool = false, inputs: InputFiles = InputFiles(), compression: ZstdCompression? = nil) throws {
        let header = try GGUFWriter.header(metadata: metadata, tensors: tensors)
        self.destination = destination
        self.tensors = tensors
        self.alignment = header.alignment
        self.dataOffset = header.bytes.count
        self.relativeOffsets = header.relativeOffsets
        self.fileSize = header.bytes.count + header.dataSize
        let sizes = tensors.map(\.byteCount)
        super.init(
            output: try OutputFile(destination: destination, overwrite: overwrite, inputs: inputs, compression: compression, size: fileSize),
            stream: TensorByteStream(
                names: tensors.map(\.name), sizes: sizes,
                paddings: sizes.map { GGUFWriter.padding($0, alignment: header.alignment) }))
        try output.write(header.bytes)
    }


    // MARK: Layout

    /// The header bytes (padded to the alignment), the alignment, each tensor's relative offset
    /// and the size of the data section.
    public static func header(metadata: GGUFMetadataList, tensors: [GGUFTensorLayout]) throws
        -> (bytes: [UInt8], alignment: Int, relativeOffsets: [Int], dataSize: Int)
    {
        let alignment = try alignment(of: metadata)
        var encoder = GGUFEncoder()
        encoder.bytes.append(contentsOf: GGUFLimits.magic)
        encoder.append(version)
        encoder.append(UInt64(tensors.count))
        encoder.append(UInt64(metadata.count))
        for (key, value) in metadata {
            guard !key.isEmpty else { throw WriterError.invalidMetadata(key: key, reason: "keys must not be empty") }
            encoder.append(string: key.utf8)
            encoder.append(value.type.rawValue)
            try encoder.append(value: value, key: key)
        }
        var seen = Set<String>()
        var offsets: [Int] = []
        var offset = 0
        for tensor in tensors {
            try tensor.validate()
            guard seen.insert(tensor.name).inserted else { throw FormatError.duplicateTensor(name: tensor.name) }
            encoder.append(string: tensor.name.utf8)
            encoder.append(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { encoder.append(UInt64(dimension)) }
            encoder.append(tensor.type.rawValue)
            encoder.append(UInt64(offset))
            offsets.append(offset)
            offset += tensor.byteCount + padding(tensor.byteCount, alignment: alignment)
        }
        encoder.padToMultiple(of: alignment)
        return (encoder.bytes, alignment, offsets, offset)
    }

    /// `general.alignment` (a UINT32 power of two) or the default, 32.
    static func alignment(of metadata: GGUFMetadataList) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUFLimits.defaultAlignment }
        guard value.type == .uint32, let raw = value.intValue else {
            throw WriterError.invalidMetadata(key: "general.alignment", reason: "must be a UINT32, not \(value.type.name)")
        }
        guard raw > 0, raw & (raw - 1) == 0 else { throw FormatError.invalidAlignment(value: UInt64(raw)) }
        return raw
    }

    static func padding(_ size: Int, alignment: Int) -> Int {
        (alignment - size % alignment) % alignment
    }
}

/// A tensor's entry in a GGUF header.
public struct GGUFTensorLayout: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// Row-major shape, outermost first (the file stores it reversed, as ggml's `ne`).
    public let shape: [Int]

    public init(name: String, type: GGMLType, shape: [Int]) {
        self.name = name
        self.type = type
        self.shape = shape
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The tensor's bytes (without padding); 0 for a layout that `validate()` refuses.
    public var byteCount: Int { type.byteCount(elements: elementCount) ?? 0 }

    /// Checks what a reader checks: name length, dimension count, whole blocks per row.
    public func validate() throws {
        guard !name.isEmpty, name.utf8.count <= GGUFLimits.maxTensorNameBytes else {
            throw FormatError.tensorNameTooLong(name: name, length: name.utf8.count, limit: GGUFLimits.maxTensorNameBytes)
        }
        guard shape.count <= GGUFLimits.maxDimensions else {
            throw FormatError.tooManyDimensions(tensor: name, count: UInt64(shape.count), limit: GGUFLimits.maxDimensions)
        }
        var elements = 1
        for (index, dimension) in shape.enumerated() {
            guard dimension >= 0 else { throw FormatError.invalidDimension(tensor: name, index: index, value: String(dimension)) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
            elements = product
        }
        let rowLength = shape.last ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw FormatError.rowNotMultipleOfBlock(tensor: name, rowLength: rowLength, blockSize: type.blockSize, type: type.name)
        }
        guard type.byteCount(elements: elements) != nil else { throw FormatError.shapeOverflow(tensor: name) }
    }
}

extension GGUFFile {
    /// The metadata of `list` as a GGUF reader sees it: the header a writer would produce, with
    /// no tensors, parsed back (to check what a conversion is about to write).
    public static func reading(_ list: GGUFMetadataList, path: String) throws -> GGUFFile {
        let header = try GGUFWriter.header(metadata: list, tensors: [])
        return try header.bytes.withUnsafeBytes { try GGUFFile(file: try MappedFile(copying: $0, path: path)) }
    }
}
