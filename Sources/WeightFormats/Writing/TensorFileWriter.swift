/// What the GGUF and safetensors writers share: a temporary file that already holds the header,
/// and a data section receiving tensor bytes in the declared order, committed atomically.
public class TensorFileWriter {
    /// The temporary file being written.
    public let output: OutputFile
    private var stream: TensorByteStream

    init(output: OutputFile, stream: TensorByteStream) {
        self.output = output
        self.stream = stream
    }

    /// The index of the tensor the next bytes belong to; nil once every tensor is complete.
    public var currentTensor: Int? { stream.currentTensor }

    /// Appends bytes of the current tensor. A piece may end inside a tensor or span several.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try stream.write(bytes, to: output)
    }

    /// Checks that every tensor is complete, syncs and renames the file into place.
    public func commit() throws {
        try stream.finish(output)
        try output.commit()
    }

    /// Checks that every tensor is complete and syncs the temporary file, leaving the rename to
    /// an `OutputFileGroup` that commits several files together.
    public func finish() throws {
        try stream.finish(output)
        try output.synchronize()
    }

    /// Removes the temporary file; the destination is untouched.
    public func abandon() { output.abandon() }
}
