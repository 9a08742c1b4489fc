/// Decodes `count` elements (a whole number of blocks) from `source` into `destination`.
public typealias BlockDecodeKernel = @Sendable (
    _ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int
) -> Void

/// Turns a tensor's stored bytes into Float, a range of rows at a time, on several threads when
/// the range is large.
struct Decoder {
    let base: UnsafeRawPointer
    let rowLength: Int
    let blockSize: Int
    let bytesPerBlock: Int
    let kernel: BlockDecodeKernel

    /// Elements below which decoding stays on the calling thread.
    static let parallelThreshold = 1 << 18

    /// - Parameter checkingExpansion: refuse a strided view whose row-major copy would be too
    ///   large (`TensorView.checkMaterializable()`); false only for readers that gather it.
    init(for view: TensorView, checkingExpansion: Bool = true) throws {
        if checkingExpansion { try view.checkMaterializable() }
        guard let kernel = DecodeKernels.kernel(for: view.dtype, byteOrder: view.byteOrder) else {
            if view.byteOrder == .bigEndian, DecodeKernels.kernel(for: view.dtype, byteOrder: .littleEndian) != nil {
                throw FormatError.unsupportedByteOrder(tensor: view.name, dtype: view.dtype.name)
            }
            throw FormatError.unsupportedConversion(
                tensor: view.name, dtype: view.dtype.name, reason: DecodeKernels.whyUnsupported(view.dtype))
        }
        self.base = checkingExpansion ? view.bytes.baseAddress! : view.storage.file.bytes.baseAddress! + view.storage.offset
        self.rowLength = view.rowLength
        self.blockSize = view.dtype.blockSize
        self.bytesPerBlock = view.dtype.bytesPerBlock
        self.kernel = kernel
    }

    /// Decodes `rows` into `destination`, which receives `rows.count * rowLength` floats.
    func decode(rows: Range<Int>, into destination: UnsafeMutablePointer<Float>, threads: Int) {
        let blocksPerRow = rowLength / blockSize
        let firstBlock = rows.lowerBound * blocksPerRow
        let blockCount = rows.count * blocksPerRow
        decode(blocks: firstBlock..<(firstBlock + blockCount), into: destination, threads: threads)
    }

    /// Decodes a range of blocks, splitting it into contiguous chunks across threads.
    func decode(blocks: Range<Int>, into destination: UnsafeMutablePointer<Float>, threads: Int) {
        let elements = blocks.count * blockSize
        let workers = elements < Decoder.parallelThreshold ? 1 : threads
        let minimumBlocks = max(1, (Decoder.parallelThreshold / 4) / blockSize)
        Parallel.forChunks(of: blocks.count, workers: workers, minimumChunk: minimumBlocks) { chunk in
            let first = blocks.lowerBound + chunk.lowerBound
            kernel(base + first * bytesPerBlock, destination + chunk.lowerBound * blockSize, chunk.count * blockSize)
        }
    }
}

extension GGMLType {
    /// The kernel that decodes little-endian data of this type to Float (nil for Q8_1, Q8_K).
    public var decodeKernel: BlockDecodeKernel? { DecodeKernels.ggml[self] }
}
