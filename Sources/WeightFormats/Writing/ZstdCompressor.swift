import CZstd

/// A zstd compression level for files written compressed (`--compress zstd[:LEVEL]`).
public struct ZstdCompression: Sendable, Equatable {
    /// The zstd CLI's default level.
    public static let defaultLevel = 3
    public static var levels: ClosedRange<Int> { 1...Int(ZSTD_maxCLevel()) }
    public let level: Int

    /// - Throws: `WriterError.invalidCompression` for a level outside `levels`.
    public init(level: Int = ZstdCompression.defaultLevel) throws {
        guard ZstdCompression.levels.contains(level) else {
            throw WriterError.invalidCompression(text: "zstd:\(level)", reason: "the level must be in \(ZstdCompression.levels)")
        }
        self.level = level
    }

    /// Parses `zstd` or `zstd:LEVEL`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts[0] == "zstd" else { throw WriterError.invalidCompression(text: text, reason: "expected zstd or zstd:LEVEL") }
        guard parts.count == 2 else { try self.init(); return }
        guard let level = Int(parts[1]) else { throw WriterError.invalidCompression(text: text, reason: "the level is not a number") }
        do {
            try self.init(level: level)
        } catch {
            throw WriterError.invalidCompression(text: text, reason: "the level must be in \(ZstdCompression.levels)")
        }
    }
}

/// A zstd stream: bytes in, one compressed frame out, in pieces of zstd's recommended output
/// size, so memory stays bounded whatever the input size.
final class ZstdCompressor {
    private let stream: OpaquePointer
    private var output: [UInt8]
    let path: String

    /// - Parameter size: the bytes that will be compressed, when known: written into the frame
    ///   header (as the zstd tool does for a file), so that `zstd -l` and decoders can see it.
    ///   zstd then refuses a different count, which catches a writer that miscounts.
    init(_ compression: ZstdCompression, path: String, size: Int? = nil) throws {
        guard let stream = ZSTD_createCStream() else { throw WriteError.writeFailed(path: path, reason: "zstd: out of memory") }
        self.stream = stream
        self.path = path
        self.output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(stream, ZSTD_c_compressionLevel, Int32(compression.level)))
        try check(ZSTD_CCtx_setParameter(stream, ZSTD_c_checksumFlag, 1))
        if let size { try check(ZSTD_CCtx_setPledgedSrcSize(stream, UInt64(size))) }
    }

    deinit { ZSTD_freeCStream(stream) }

    /// Compresses `bytes`, handing compressed pieces to `sink`; `finish` ends the frame.
    func compress(_ bytes: UnsafeRawBufferPointer, finish: Bool, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        let mode = finish ? ZSTD_e_end : ZSTD_e_continue
        while true {
            var remaining = 0
            let produced = try output.withUnsafeMutableBytes { out -> Int in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                remaining = try check(ZSTD_compressStream2(stream, &target, &input, mode))
                return target.pos
            }
            if produced > 0 { try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if finish ? remaining == 0 : input.pos == input.size { return }
        }
    }

    @discardableResult
    private func check(_ code: Int) throws -> Int {
        if ZSTD_isError(code) != 0 {
            throw WriteError.writeFailed(path: path, reason: "zstd: " + String(cString: ZSTD_getErrorName(code)))
        }
        return code
    }
}
