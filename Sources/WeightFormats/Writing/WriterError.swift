/// Mistakes in what a caller asks a writer to write, named by key or tensor. (Broken layouts
/// that a reader would refuse, such as duplicate names or rows that do not fill whole blocks,
/// are reported with the reader's `FormatError` cases; I/O failures are `WriteError`s.)
public enum WriterError: Error, Equatable, Sendable, ArgumentDescribing {
    /// An array element whose type differs from the array's element type.
    case arrayElementType(key: String, expected: String, found: String)
    /// A metadata key whose value breaks a format rule (`general.alignment` not a UINT32...).
    case invalidMetadata(key: String, reason: String)
    /// More or fewer bytes than a tensor's shape and type need.
    case tensorDataSize(tensor: String, expected: Int, written: Int)
    /// Bytes written after the last tensor was complete.
    case dataPastEnd(path: String, bytes: Int)
    /// `commit()` before every tensor was written.
    case incomplete(path: String, tensor: String)
    /// A safetensors dtype whose element count does not fill whole bytes.
    case partialBytes(tensor: String, dtype: String)
    /// A compression setting that is not `zstd` or `zstd:LEVEL` with a valid level.
    case invalidCompression(text: String, reason: String)

    public func description(spelling: (APIArgument) -> String) -> String {
        switch self {
        case .arrayElementType(let key, let expected, let found):
            return "metadata '\(key)': an array of \(expected) holds a \(found)"
        case .invalidMetadata(let key, let reason):
            return "metadata '\(key)': \(reason)"
        case .tensorDataSize(let tensor, let expected, let written):
            return "tensor '\(tensor)': \(written) bytes written, its shape and type need \(expected)"
        case .dataPastEnd(let path, let bytes):
            return "\(path): \(bytes) bytes written after the last tensor"
        case .incomplete(let path, let tensor):
            return "\(path): finished before tensor '\(tensor)' was written"
        case .partialBytes(let tensor, let dtype):
            return "tensor '\(tensor)': its \(dtype) elements do not fill whole bytes"
        case .invalidCompression(let text, let reason):
            return "\(spelling(.compression)) \(text): \(reason)"
        }
    }
}
