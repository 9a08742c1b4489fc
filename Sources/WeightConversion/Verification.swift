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
        return try checkpoint.tensors.map { view in
            var nans = 0, infinities = 0
            let decodable = view.dtype.ggmlType.map { $0.traits.kind != .integer } ?? false
            // A strided view that repeats its elements (PyTorch's expand) is scanned through its
            // distinct elements, each counted as often as it repeats; it is never copied.
            let expands = (try? view.checkMaterializable()) == nil
            let (scanned, multiplicity) = expands ? (view.withoutBroadcastDimensions() ?? (view, 1)) : (view, 1)
            if decodable {
                // Pieces of whole blocks, not rows: a row of any length costs at most 16 MiB.
                try scanned.forEachDecodedChunk(maxElements: 1 << 22, threads: 0, allowingExpansion: true) { piece in
                    var n = 0, i = 0
                    k.count_nonfinite(piece.baseAddress!, piece.count, &n, &i)
                    nans += n * multiplicity
                    infinities += i * multiplicity
                }
            }
            var digest: String?
            if hashes && !expands {
                var context = wk_sha256()
                k.sha256_init(&context)
                // Row-major bytes; a strided view is gathered a piece at a time, never copied whole.
                view.forEachRowMajorPiece { piece in k.sha256_update(&context, piece.baseAddress, piece.count) }
                var out = [UInt8](repeating: 0, count: 32)
                k.sha256_final(&context, &out)
                digest = out.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            }
            if !view.isStridedView { view.file.advise(.dontNeed, offset: view.offset, count: view.byteCount) }
            return TensorCheck(name: view.name, dtype: view.dtype.name, nanCount: nans, infinityCount: infinities, sha256: digest)
        }
    }
}
