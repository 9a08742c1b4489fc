/// A tensor inside a mapped file: name, dtype, row-major shape and byte range.
///
/// A view copies nothing; it keeps its file mapped for as long as it lives. Plain types can be
/// read in place (`withElements`); every type WeightKit can decode can be read as Float, whole
/// (`floats()`) or a row at a time (`row(_:)`), without decoding the rest of the tensor.
public struct TensorView: Sendable {
    public let name: String
    public let dtype: TensorDType
    /// Row-major shape, outermost first (PyTorch and NumPy order).
    public let shape: [Int]
    /// The mapped bytes: the file itself, or for a strided view the row-major copy (made on
    /// first use: see `StridedSource`; `checkMaterializable()` says whether it is allowed).
    public var file: MappedFile { strided?.materialized() ?? storedFile }
    /// Absolute offset of the first byte in `file`.
    public var offset: Int { strided == nil ? storedOffset : 0 }
    private let storedFile: MappedFile
    private let storedOffset: Int
    /// Where a strided view's elements lie; nil for a tensor stored row-major.
    let strided: StridedSource?
    /// The tensor's own bytes, without padding.
    public let byteCount: Int
    /// The file's name as a checkpoint lists it (relative to its directory or split set).
    public let fileName: String
    public let byteOrder: ByteOrder

    public init(
        name: String, dtype: TensorDType, shape: [Int], file: MappedFile, offset: Int, byteCount: Int,
        fileName: String, byteOrder: ByteOrder = .littleEndian
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storedFile = file
        self.storedOffset = offset
        self.byteCount = byteCount
        self.fileName = fileName
        self.byteOrder = byteOrder
        self.strided = nil
    }

    /// A strided view of `source` (row-major bytes made on demand).
    init(name: String, dtype: TensorDType, shape: [Int], strided source: StridedSource, fileName: String) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storedFile = source.file
        self.storedOffset = source.offset
        self.byteCount = source.byteCount
        self.fileName = fileName
        self.byteOrder = .littleEndian
        self.strided = source
    }

    /// The file the tensor's bytes are stored in (for a strided view, the original file, not
    /// its row-major copy) and the offset of its first element there.
    public var storage: (file: MappedFile, offset: Int) { (storedFile, storedOffset) }

    public var elementCount: Int { shape.reduce(1, *) }

    /// Length of the innermost dimension (1 for scalars).
    public var rowLength: Int { shape.last ?? 1 }

    /// Number of rows: the product of every dimension but the innermost.
    public var rowCount: Int { shape.dropLast().reduce(1, *) }

    /// The tensor's bytes in the mapping.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: file.bytes.baseAddress! + offset, count: byteCount)
    }

    /// Bytes of one row.
    public var rowByteCount: Int { rowLength / dtype.blockSize * dtype.bytesPerBlock }

    /// Calls `body` with the elements in place, without copying.
    ///
    /// - Parameter type: must match the dtype's storage (Float for F32, Float16 for F16, UInt16
    ///   for BF16, Int8/Int16/Int32/Int64, Double for F64, UInt8 for U8/BOOL...), and the file
    ///   must be little-endian.
    /// - Throws: `.unsupportedConversion` when `type` does not match the stored layout.
    public func withElements<T, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        try checkMaterializable()
        guard ElementLayout.matches(dtype, T.self), byteOrder == .littleEndian else {
            throw FormatError.unsupportedConversion(
                tensor: name, dtype: dtype.name, reason: "elements cannot be read in place as \(T.self)")
        }
        let base = file.bytes.baseAddress! + offset
        if Int(bitPattern: base) % MemoryLayout<T>.alignment != 0 {
            // safetensors and GGUF align data in practice; fall back to a copy when a file does not.
            var copy = [T](unsafeUninitializedCapacity: byteCount / MemoryLayout<T>.stride) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                count = byteCount / MemoryLayout<T>.stride
            }
            return try copy.withUnsafeMutableBufferPointer { try body(UnsafeBufferPointer($0)) }
        }
        let typed = base.assumingMemoryBound(to: T.self)
        return try body(UnsafeBufferPointer(start: typed, count: byteCount / MemoryLayout<T>.stride))
    }

    /// The whole tensor as Float, decoded with up to `threads` threads (0: all cores).
    public func floats(threads: Int = 0) throws -> [Float] {
        let count = elementCount
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try decode(into: buffer, threads: threads)
            initialized = count
        }
    }

    /// Decodes the whole tensor into `destination`, which holds `elementCount` floats.
    public func decode(into destination: UnsafeMutableBufferPointer<Float>, threads: Int = 0) throws {
        precondition(destination.count >= elementCount, "destination too small")
        let decoder = try Decoder(for: self)
        decoder.decode(rows: 0..<rowCount, into: destination.baseAddress!, threads: threads)
    }

    /// Row `index` (of `rowCount`) as Float, decoding only that row.
    ///
    /// - Throws: `FormatError.rowOutOfRange` when `index` is not in `0..<rowCount`, and what
    ///   decoding throws for a type without a decoder.
    public func row(_ index: Int) throws -> [Float] {
        guard index >= 0 && index < rowCount else {
            throw FormatError.rowOutOfRange(tensor: name, index: index, rowCount: rowCount)
        }
        let decoder = try Decoder(for: self)
        return [Float](unsafeUninitializedCapacity: rowLength) { buffer, initialized in
            decoder.decode(rows: index..<(index + 1), into: buffer.baseAddress!, threads: 1)
            initialized = rowLength
        }
    }

    /// Decodes the whole tensor in order, handing `body` pieces of at most `maxElements`
    /// floats (rounded down to whole blocks, at least one block), so memory stays bounded
    /// whatever the shape: a piece may end inside a row, and a tensor of no elements allocates
    /// nothing. A strided view is gathered a piece at a time, never copied whole; one that
    /// expands its storage by more than `StridedSource.maxExpansion` bytes is refused unless
    /// `allowingExpansion` (`checkMaterializable()`).
    public func forEachDecodedChunk(
        maxElements: Int = 1 << 22, threads: Int = 0, allowingExpansion: Bool = false,
        _ body: (UnsafeBufferPointer<Float>) throws -> Void
    ) throws {
        guard elementCount > 0 else { return }
        if !allowingExpansion { try checkMaterializable() }
        if let strided {
            // Gathered a piece at a time, never materialised (plain types: one element a block).
            let decoder = try Decoder(for: self, checkingExpansion: false)
            let rowLength = max(1, strided.rowLength)
            let rowsPerPiece = max(1, maxElements / rowLength)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: rowsPerPiece * rowLength * strided.elementSize, alignment: 16)
            defer { raw.deallocate() }
            let floats = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerPiece * rowLength)
            defer { floats.deallocate() }
            var row = 0
            while row < strided.rowCount {
                let count = min(rowsPerPiece, strided.rowCount - row)
                strided.gather(rows: row..<(row + count), into: raw)
                decoder.kernel(raw, floats, count * rowLength)
                try body(UnsafeBufferPointer(start: floats, count: count * rowLength))
                row += count
            }
            return
        }
        let decoder = try Decoder(for: self)
        let blockSize = max(1, decoder.blockSize)
        let totalBlocks = elementCount / blockSize
        let blocksPerPiece = max(1, min(totalBlocks, maxElements / blockSize))
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: blocksPerPiece * blockSize)
        defer { buffer.deallocate() }
        var block = 0
        while block < totalBlocks {
            let count = min(blocksPerPiece, totalBlocks - block)
            decoder.decode(blocks: block..<(block + count), into: buffer, threads: threads)
            try body(UnsafeBufferPointer(start: buffer, count: count * blockSize))
            block += count
        }
    }

    /// Decodes rows `rows` into `destination` (`rows.count * rowLength` floats).
    public func decodeRows(_ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>, threads: Int = 1) throws {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= rowCount, "row range out of range")
        let decoder = try Decoder(for: self)
        decoder.decode(rows: rows, into: destination, threads: threads)
    }
}

/// Which Swift types can view which stored dtypes in place.
enum ElementLayout {
    static func matches<T>(_ dtype: TensorDType, _ type: T.Type) -> Bool {
        switch dtype {
        case .ggml(let ggml):
            switch ggml {
            case .f32: return T.self == Float.self
            case .f16: return T.self == Float16.self || T.self == UInt16.self
            case .bf16: return T.self == UInt16.self
            case .f64: return T.self == Double.self
            case .i8: return T.self == Int8.self
            case .i16: return T.self == Int16.self
            case .i32: return T.self == Int32.self
            case .i64: return T.self == Int64.self
            default: return T.self == UInt8.self
            }
        case .safetensors(let dtype):
            if let ggml = dtype.ggmlEquivalent { return matches(.ggml(ggml), type) }
            switch dtype {
            case .u16: return T.self == UInt16.self
            case .u32: return T.self == UInt32.self
            case .u64: return T.self == UInt64.self
            case .c64: return T.self == SIMD2<Float>.self
            default: return T.self == UInt8.self
            }
        }
    }
}
