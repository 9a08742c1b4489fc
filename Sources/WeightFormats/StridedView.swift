#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tensor stored with strides that are not row-major (a PyTorch view: `expand`, a transpose,
/// a slice with a step), kept as a view: nothing is copied when the file is opened, listed or
/// verified. Readers that need the row-major bytes (decoding, conversion, a model) get a copy
/// made on first use, and only when that copy is at most `maxExpansion` bytes larger than
/// the part of the storage the view reaches (`TensorView.checkMaterializable()`); an
/// `expand` of one element to 10^10 is refused, naming the tensor, its shape and strides.
public final class StridedSource: @unchecked Sendable {
    /// Bytes by which a row-major copy may exceed the storage the view covers: 1 GiB.
    public static let maxExpansion = 1 << 30

    public let file: MappedFile
    /// Offset in `file` of the first element.
    public let offset: Int
    public let shape: [Int]
    /// Element strides.
    public let strides: [Int]
    public let elementSize: Int
    /// Bytes of the storage the view reaches (from its first to its last element).
    public let storageSpan: Int

    private var copy: MappedFile?
    private var lock = pthread_mutex_t()

    init(file: MappedFile, offset: Int, shape: [Int], strides: [Int], elementSize: Int, storageSpan: Int) {
        self.file = file
        self.offset = offset
        self.shape = shape
        self.strides = strides
        self.elementSize = elementSize
        self.storageSpan = storageSpan
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    var elementCount: Int { shape.reduce(1, *) }
    var byteCount: Int { elementCount * elementSize }
    var rowLength: Int { shape.last ?? 1 }
    var rowCount: Int { shape.dropLast().reduce(1, *) }

    /// Bytes the row-major copy adds over the storage it reads.
    public var expansion: Int { max(0, byteCount - storageSpan) }

    /// The row-major copy, made the first time it is asked for.
    func materialized() -> MappedFile {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let copy { return copy }
        let bytes = [UInt8](unsafeUninitializedCapacity: max(byteCount, 1)) { buffer, initialized in
            if byteCount > 0 { gather(rows: 0..<rowCount, into: UnsafeMutableRawPointer(buffer.baseAddress!)) }
            initialized = max(byteCount, 1)
        }
        // `copying:` refuses zero bytes; an empty tensor's copy holds one unused byte.
        let made = (try? bytes.withUnsafeBytes { try MappedFile(copying: $0, path: file.path) }) ?? file
        copy = made
        return made
    }

    /// Copies rows `rows` (of `rowCount`, row-major) into `destination`, element by element
    /// where the innermost stride is not 1. Every element was checked to lie in the storage.
    func gather(rows: Range<Int>, into destination: UnsafeMutableRawPointer) {
        let source = file.bytes.baseAddress! + offset
        let rank = shape.count
        guard rank > 0 else {
            destination.copyMemory(from: source, byteCount: elementSize)
            return
        }
        let rowStride = strides[rank - 1]
        // The outer index of the first row, innermost outer dimension last.
        var index = [Int](repeating: 0, count: rank - 1)
        var remainder = rows.lowerBound
        var sourceElement = 0
        for dimension in stride(from: rank - 2, through: 0, by: -1) {
            index[dimension] = remainder % shape[dimension]
            remainder /= shape[dimension]
            sourceElement += index[dimension] * strides[dimension]
        }
        var written = 0
        for _ in rows {
            if rowStride == 1 {
                (destination + written).copyMemory(from: source + sourceElement * elementSize, byteCount: rowLength * elementSize)
                written += rowLength * elementSize
            } else {
                for column in 0..<rowLength {
                    (destination + written).copyMemory(
                        from: source + (sourceElement + column * rowStride) * elementSize, byteCount: elementSize)
                    written += elementSize
                }
            }
            var dimension = rank - 2
            while dimension >= 0 {
                index[dimension] += 1
                sourceElement += strides[dimension]
                if index[dimension] < shape[dimension] { break }
                sourceElement -= strides[dimension] * shape[dimension]
                index[dimension] = 0
                dimension -= 1
            }
        }
    }
}

extension TensorView {
    /// Whether the tensor is a strided view whose row-major bytes are made only on demand.
    public var isStridedView: Bool { strided != nil }

    /// Element strides of a strided view (nil for a tensor stored row-major).
    public var strides: [Int]? { strided?.strides }

    /// Checks that reading the tensor's row-major bytes is allowed: always for a tensor stored
    /// row-major; for a strided view, when its copy exceeds the storage it covers by at most
    /// `StridedSource.maxExpansion` bytes.
    ///
    /// - Throws: `FormatError.viewExpandsStorage` naming the tensor, its shape and strides.
    public func checkMaterializable() throws {
        guard let strided, strided.expansion > StridedSource.maxExpansion else { return }
        throw FormatError.viewExpandsStorage(
            tensor: name, shape: shape, strides: strided.strides, storageBytes: strided.storageSpan, bytes: byteCount,
            limit: StridedSource.maxExpansion)
    }

    /// For a strided view, the view without its broadcast dimensions (stride 0, as `expand`
    /// makes them) and how many times each of its elements repeats in the whole view; nil for
    /// a tensor stored row-major. Scanning the first counts every element of the view.
    public func withoutBroadcastDimensions() -> (view: TensorView, multiplicity: Int)? {
        guard let strided else { return nil }
        var shape: [Int] = [], strides: [Int] = [], multiplicity = 1
        for (size, stride) in zip(strided.shape, strided.strides) {
            if stride == 0 { multiplicity *= size } else { shape.append(size); strides.append(stride) }
        }
        let source = StridedSource(
            file: strided.file, offset: strided.offset, shape: shape, strides: strides, elementSize: strided.elementSize,
            storageSpan: strided.storageSpan)
        return (TensorView(name: name, dtype: dtype, shape: shape, strided: source, fileName: fileName), multiplicity)
    }

    /// Hands `body` the tensor's row-major bytes in pieces of whole rows (at most `maxBytes`
    /// each, at least one row), without copying the whole tensor: in place for a tensor stored
    /// row-major, gathered piece by piece for a strided view (which is never materialised).
    public func forEachRowMajorPiece(maxBytes: Int = 16 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard byteCount > 0 else { return }
        guard let strided else { return try body(bytes) }
        let rowBytes = strided.rowLength * strided.elementSize
        let rowsPerPiece = max(1, maxBytes / max(rowBytes, 1))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: rowsPerPiece * rowBytes, alignment: 16)
        defer { buffer.deallocate() }
        var row = 0
        while row < strided.rowCount {
            let count = min(rowsPerPiece, strided.rowCount - row)
            strided.gather(rows: row..<(row + count), into: buffer)
            try body(UnsafeRawBufferPointer(start: buffer, count: count * rowBytes))
            row += count
        }
    }
}
