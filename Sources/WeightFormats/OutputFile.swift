#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from writing files.
public enum WriteError: Error, Equatable, Sendable, CustomStringConvertible {
    case destinationExists(path: String)
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case renameFailed(from: String, to: String, reason: String)

    public var description: String {
        switch self {
        case .destinationExists(let path): return "\(path) already exists (use --force to replace it)"
        case .cannotCreate(let path, let reason): return "cannot create \(path): \(reason)"
        case .writeFailed(let path, let reason): return "writing \(path) failed: \(reason); the destination was left untouched"
        case .renameFailed(let from, let to, let reason): return "cannot move \(from) to \(to): \(reason)"
        }
    }
}

/// A file written beside its destination under a temporary name and renamed into place only
/// when `commit()` succeeds. If writing fails, or the object is dropped without committing,
/// the temporary file is removed and the destination is untouched.
public final class OutputFile {
    public let destination: String
    public let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    private var committed = false
    /// Bytes written so far (before compression).
    public private(set) var bytesWritten = 0
    /// Compresses everything written into one zstd frame, when set.
    private let compressor: ZstdCompressor?

    /// Creates the temporary file.
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing destination on commit; otherwise an existing
    ///     destination is an error now, before anything is written.
    ///   - compression: write the bytes as one zstd frame (streaming; `write(_:at:)` is then
    ///     unavailable).
    ///   - size: the bytes that will be written, when known; recorded in a zstd frame's header.
    public init(destination: String, overwrite: Bool = false, compression: ZstdCompression? = nil, size: Int? = nil) throws {
        if !overwrite && FileSystem.kind(of: destination) != .missing {
            throw WriteError.destinationExists(path: destination)
        }
        self.destination = destination
        let directory = PathName.directory(of: destination)
        var template = Array(PathName.join(directory, "." + PathName.lastComponent(of: destination) + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw WriteError.cannotCreate(path: destination, reason: errnoDescription()) }
        self.descriptor = fd
        self.compressor = try compression.map { try ZstdCompressor($0, path: destination, size: size) }
        self.temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if !committed { abandon() }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferLimit {
            try flush()
            if bytes.count >= bufferLimit {
                try emit(bytes)
                bytesWritten += bytes.count
                return
            }
        }
        buffer.append(contentsOf: bytes)
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// Appends `count` zero bytes (alignment padding).
    public func writeZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Writes buffered bytes to the temporary file.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try emit($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Bytes to the temporary file, through the compressor when there is one.
    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        guard let compressor else { return try writeAll(bytes) }
        do {
            try compressor.compress(bytes, finish: false) { try writeAll($0) }
        } catch let error as WriteError {
            abandon()
            throw error
        }
    }

    /// Overwrites bytes at `offset` of the temporary file (for headers whose sizes are known
    /// only at the end). Flushes first.
    public func write(_ bytes: [UInt8], at offset: Int) throws {
        precondition(compressor == nil, "a compressed file is written front to back")
        try flush()
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else { throw failure() }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let written = posixWrite(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure()
            }
            done += written
        }
    }

    private func failure() -> WriteError {
        let reason = errnoDescription()
        abandon()
        return WriteError.writeFailed(path: destination, reason: reason)
    }

    /// Flushes, syncs and closes the temporary file: what is left of a commit is the rename.
    /// Several files committed together (`OutputFileGroup`) are all synchronised first.
    public func synchronize() throws {
        guard descriptor >= 0 else { return }
        try flush()
        if let compressor {
            do {
                try compressor.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) { try writeAll($0) }
            } catch let error as WriteError {
                abandon()
                throw error
            }
        }
        guard fsync(descriptor) == 0 else { throw failure() }
        fchmod(descriptor, 0o644)
        close(descriptor)
        descriptor = -1
    }

    /// Flushes, syncs and renames the temporary file onto the destination.
    public func commit() throws {
        try synchronize()
        guard rename(temporaryPath, destination) == 0 else {
            let reason = errnoDescription()
            unlink(temporaryPath)
            committed = true
            throw WriteError.renameFailed(from: temporaryPath, to: destination, reason: reason)
        }
        committed = true
    }

    /// Removes the temporary file; the destination is not touched.
    public func abandon() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        if !committed { unlink(temporaryPath) }
        committed = true
    }
}

/// `write(2)`, named apart from `OutputFile.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
