/// Writes safetensors files (the layout is described at the top of `SafeTensors.swift`),
/// streaming, as the reference writer (the `safetensors` package) lays them out:
///
/// - the header is compact JSON: `"__metadata__"` first (when given), then one entry per tensor
///   in data order, with keys `dtype`, `shape`, `data_offsets`;
/// - the header is padded with spaces to a multiple of 8 bytes;
/// - tensors follow without gaps. The reference orders them by dtype (widest first, in its
///   `Dtype` declaration order) and then by name; `referenceOrder(_:)` gives that order, and a
///   writer given tensors in that order produces the reference's bytes.
///
/// Tensor data arrives in pieces, in the declared order; everything goes to a temporary file
/// renamed into place by `commit()` (see `OutputFile`).
public final class SafeTensorsWriter: TensorFileWriter {
    public let destination: String
    public let tensors: [SafeTensorsTensorLayout]
    /// Absolute offset of the data section (8 + header length).
    public let dataOffset: Int
    public let fileSize: Int

    /// Validates the layout, creates the temporary file and writes the header.
    ///
    /// - Parameters:
    ///   - metadata: `__metadata__` pairs in order, or nil to leave the key out.
    ///   - tensors: tensors in file order.
    ///   - inputs: files the caller reads, which the destination may never be (`InputFiles`).
    /// - Throws: `FormatError` (duplicate names, header too large), `WriterError`, `WriteError`.
    public init(
        destination: String, metadata: [(key: String, value: String)]?, tensors: [SafeTensorsTensorLayout],
        overwrite: Bool = false, inputs: InputFiles = InputFiles(), compression: ZstdCompression? = nil
    ) throws {
        let header = try SafeTensorsWriter.header(metadata: metadata, tensors: tensors)
        self.destination = destination
        self.tensors = tensors
        self.dataOffset = header.count
        self.fileSize = header.count + tensors.reduce(0) { $0 + $1.byteCount }
        super.init(
            output: try OutputFile(destination: destination, overwrite: overwrite, inputs: inputs, compression: compression, size: fileSize),
            stream: TensorByteStream(
                names: tensors.map(\.name), sizes: tensors.map(\.byteCount), paddings: tensors.map { _ in 0 }))
        try output.write(header)
    }


    /// The 8-byte length and the padded JSON header.
    public static func header(metadata: [(key: String, value: String)]?, tensors: [SafeTensorsTensorLayout]) throws -> [UInt8] {
        var json = JSONWriter()
        json.append("{")
        var first = true
        if let metadata {
            json.writeString(SafeTensorsLimits.metadataKey)
            json.append(":{")
            for (index, entry) in metadata.enumerated() {
                if index > 0 { json.append(",") }
                json.writeString(entry.key)
                json.append(":")
                json.writeString(entry.value)
            }
            json.append("}")
            first = false
        }
        var seen = Set<String>()
        var offset = 0
        for tensor in tensors {
            guard tensor.name != SafeTensorsLimits.metadataKey, seen.insert(tensor.name).inserted else {
                throw FormatError.duplicateTensor(name: tensor.name)
            }
            let size = try tensor.validatedByteCount()
            if !first { json.append(",") }
            first = false
            json.writeString(tensor.name)
            json.append(":{\"dtype\":")
            json.writeString(tensor.dtype.rawValue)
            json.append(",\"shape\":[" + tensor.shape.map(String.init).joined(separator: ",") + "]")
            json.append(",\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        json.append("}")
        let padding = (8 - json.output.count % 8) % 8
        json.output.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        guard json.output.count <= SafeTensorsLimits.maxHeaderLength else {
            throw FormatError.headerTooLarge(length: UInt64(json.output.count), limit: SafeTensorsLimits.maxHeaderLength)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.output.count)
        withUnsafeBytes(of: UInt64(json.output.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json.output)
        return bytes
    }

    /// The reference writer's order: dtypes from the last declared (U64, I64, F64...) to the
    /// first (BOOL), each dtype's tensors by name, bytewise.
    public static func referenceOrder(_ tensors: [SafeTensorsTensorLayout]) -> [SafeTensorsTensorLayout] {
        let rank = Dictionary(uniqueKeysWithValues: SafeTensorsDType.allCases.enumerated().map { ($1, $0) })
        return tensors.sorted { a, b in
            let ra = rank[a.dtype]!, rb = rank[b.dtype]!
            if ra != rb { return ra > rb }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
    }
}

/// A tensor's entry in a safetensors header.
public struct SafeTensorsTensorLayout: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major shape, outermost first.
    public let shape: [Int]

    public init(name: String, dtype: SafeTensorsDType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The tensor's bytes.
    public var byteCount: Int { elementCount * dtype.bitWidth / 8 }

    func validatedByteCount() throws -> Int {
        var elements = 1
        for (index, dimension) in shape.enumerated() {
            guard dimension >= 0 else { throw FormatError.invalidDimension(tensor: name, index: index, value: String(dimension)) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
            elements = product
        }
        let (bits, overflow) = elements.multipliedReportingOverflow(by: dtype.bitWidth)
        guard !overflow else { throw FormatError.shapeOverflow(tensor: name) }
        guard bits % 8 == 0 else { throw WriterError.partialBytes(tensor: name, dtype: dtype.rawValue) }
        return bits / 8
    }
}
