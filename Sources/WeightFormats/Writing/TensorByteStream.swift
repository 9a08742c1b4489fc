/// The data section of a file being written: tensors in a fixed order, each of a known size,
/// each followed by its padding. Callers hand over bytes in pieces of any size; the stream
/// checks that every tensor receives exactly its size and inserts the padding.
struct TensorByteStream {
    let names: [String]
    let sizes: [Int]
    /// Padding after each tensor.
    let paddings: [Int]
    private(set) var current = 0
    private(set) var writtenInCurrent = 0

    init(names: [String], sizes: [Int], paddings: [Int]) {
        self.names = names
        self.sizes = sizes
        self.paddings = paddings
    }

    /// The index of the tensor the next bytes belong to (nil when all are complete).
    var currentTensor: Int? {
        var index = current
        while index < sizes.count && sizes[index] == 0 && writtenInCurrent == 0 { index += 1 }
        return index < sizes.count ? index : nil
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer, to output: OutputFile) throws {
        var offset = 0
        while offset < bytes.count {
            try skipEmptyTensors(output)
            guard current < sizes.count else {
                throw WriterError.dataPastEnd(path: output.destination, bytes: bytes.count - offset)
            }
            let count = min(bytes.count - offset, sizes[current] - writtenInCurrent)
            try output.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            offset += count
            writtenInCurrent += count
            if writtenInCurrent == sizes[current] { try finishCurrent(output) }
        }
    }

    /// Checks that every tensor is complete.
    mutating func finish(_ output: OutputFile) throws {
        try skipEmptyTensors(output)
        if current < sizes.count {
            throw WriterError.incomplete(path: output.destination, tensor: names[current])
        }
    }

    private mutating func skipEmptyTensors(_ output: OutputFile) throws {
        while current < sizes.count && sizes[current] == 0 { try finishCurrent(output) }
    }

    private mutating func finishCurrent(_ output: OutputFile) throws {
        try output.writeZeros(paddings[current])
        current += 1
        writtenInCurrent = 0
    }
}
