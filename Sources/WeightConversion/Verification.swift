import CKernels
import WeightFormats

/// One tensor's verification: non-finite values and, when asked, the SHA-256 of its stored
/// bytes (as llama.cpp's gguf-hash hashes them).
public struct TensorCheck: Sendable {
    public let name: String
    public let dtype: String
    public let nanCount: Int
    public let infinityCount: Int
    /// Lower-case hex, or nil when hashes were not asked for.
    public let sha256: String?

    public var isFinite: Bool { nanCount == 0 && infinityCount == 0 }
}

/// `weightkit verify`: opening validates every header (offsets, sizes, types); then each tensor
/// is decoded in chunks and scanned for NaN and infinity, and optionally hashed.
public enum Verification {
    /// Checks every tensor of the checkpoint at `path`, scanning and hashing with `kernels`.
    public static func verify(_ path: String, hashes: Bool, kernels: Kernels = .best) throws -> [TensorCheck] {
        let k = kernels.c
        let checkpoint = try Checkpoint.open(path)
        var floats = [Float](repeating: 0, count: 1 << 22)
        return try checkpoint.tensors.map { view in
            var nans = 0, infinities = 0
            let decodable = view.dtype.ggmlType.map { $0.traits.kind != .integer } ?? false
            if decodable, view.rowLength > 0 {
                let rowsPerChunk = max(1, floats.count / view.rowLength)
                if rowsPerChunk * view.rowLength > floats.count { floats = [Float](repeating: 0, count: view.rowLength) }
                var row = 0
                while row < view.rowCount {
                    let rows = min(rowsPerChunk, view.rowCount - row)
                    try floats.withUnsafeMutableBufferPointer { buffer in
                        try view.decodeRows(row..<(row + rows), into: buffer.baseAddress!, threads: 0)
                        var n = 0, i = 0
                        k.count_nonfinite(buffer.baseAddress!, rows * view.rowLength, &n, &i)
                        nans += n
                        infinities += i
                    }
                    row += rows
                }
            }
            var digest: String?
            if hashes {
                var context = wk_sha256()
                k.sha256_init(&context)
                k.sha256_update(&context, view.bytes.baseAddress, view.byteCount)
                var out = [UInt8](repeating: 0, count: 32)
                k.sha256_final(&context, &out)
                digest = out.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            }
            view.file.advise(.dontNeed, offset: view.offset, count: view.byteCount)
            return TensorCheck(name: view.name, dtype: view.dtype.name, nanCount: nans, infinityCount: infinities, sha256: digest)
        }
    }
}
