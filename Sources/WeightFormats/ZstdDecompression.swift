import CTemporaryFiles
import CZstd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Inputs compressed with zstd (`model.gguf.zst`): the file is decompressed as a stream, in
/// pieces of zstd's recommended sizes, into a temporary file that is unlinked at once, and the
/// result is mapped like any other file. Memory stays at the two stream buffers whatever the
/// model size; the disk holds the decompressed bytes until the mapping is released.
///
/// The temporary file lives in `$TMPDIR`, else `/var/tmp` (usually a disk, unlike a `/tmp`
/// that may be RAM-backed), else `/tmp`.
enum ZstdDecompression {
    static let fileExtension = "zst"

    static func isCompressedPath(_ path: String) -> Bool {
        PathName.fileExtension(of: path) == fileExtension
    }

    /// Decompresses every frame of `path` into an unlinked temporary file and returns its open
    /// descriptor (the caller closes it).
    ///
    /// - Throws: `.cannotOpen` when the input or the temporary file cannot be opened,
    ///   `.zstdFailed` when the input is not zstd, is corrupt or ends inside a frame.
    static func decompressToTemporaryFile(_ path: String) throws -> Int32 {
        let input = try FileSystem.openRegularFile(path)
        guard input >= 0 else { throw FormatError.cannotOpen(path: path, reason: errnoDescription()) }
        defer { close(input) }
        let output = try unlinkedTemporaryFile(for: path)
        do {
            try decompress(from: input, to: output, path: path)
        } catch {
            close(output)
            throw error
        }
        return output
    }

    private static func decompress(from input: Int32, to output: Int32, path: String) throws {
        guard let stream = ZSTD_createDStream() else { throw FormatError.zstdFailed(path: path, offset: 0, reason: "out of memory") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)
        var inBuffer = [UInt8](repeating: 0, count: ZSTD_DStreamInSize())
        var outBuffer = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var consumed = 0
        var lastHint = 0
        while true {
            let count = inBuffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FormatError.cannotOpen(path: path, reason: errnoDescription())
            }
            if count == 0 { break }
            try inBuffer.withUnsafeBytes { inBytes in
                var source = ZSTD_inBuffer(src: inBytes.baseAddress, size: count, pos: 0)
                while source.pos < source.size {
                    let produced = try outBuffer.withUnsafeMutableBytes { outBytes -> Int in
                        var target = ZSTD_outBuffer(dst: outBytes.baseAddress, size: outBytes.count, pos: 0)
                        let hint = ZSTD_decompressStream(stream, &target, &source)
                        if ZSTD_isError(hint) != 0 {
                            throw FormatError.zstdFailed(
                                path: path, offset: consumed + source.pos, reason: String(cString: ZSTD_getErrorName(hint)))
                        }
                        lastHint = hint
                        return target.pos
                    }
                    try outBuffer.withUnsafeBytes { try writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<produced]), path: path) }
                }
            }
            consumed += count
        }
        guard consumed > 0 else { throw FormatError.emptyFile(path: path) }
        // A non-zero hint at the end of the input: the last frame is incomplete.
        guard lastHint == 0 else { throw FormatError.zstdFailed(path: path, offset: consumed, reason: "truncated: the input ends inside a frame") }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let written = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw FormatError.cannotOpen(path: path, reason: "writing the decompressed copy: " + errnoDescription())
            }
            done += written
        }
    }

    private static func unlinkedTemporaryFile(for path: String) throws -> Int32 {
        var directories: [String] = []
        if let tmp = getenv("TMPDIR") { directories.append(String(cString: tmp)) }
        directories += ["/var/tmp", "/tmp"]
        for directory in directories where FileSystem.isDirectory(directory) {
            // Unnamed where the file system allows it: nothing to remove, whatever happens.
            let unnamed = wk_open_unnamed(directory, 0o600)
            if unnamed >= 0 { return unnamed }
            var template = Array(PathName.join(directory, "weightkit-zstd-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { continue }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            return fd
        }
        throw FormatError.cannotOpen(path: path, reason: "no writable temporary directory for the decompressed copy")
    }
}
