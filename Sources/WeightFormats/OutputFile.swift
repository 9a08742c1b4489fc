import CTemporaryFiles

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from writing files.
public enum WriteError: Error, Equatable, Sendable, ArgumentDescribing {
    case destinationExists(path: String)
    /// The destination is one of the command's own inputs (the same file: the path itself, a
    /// symlink or a hard link to it), which is never replaced, even when replacing is allowed.
    case destinationIsInput(path: String, input: String)
    /// A file output whose destination is an existing directory.
    case destinationIsDirectory(path: String)
    case cannotCreate(path: String, reason: String)
    /// `leftBehind`: a temporary that could not be removed, named for the user to delete.
    case writeFailed(path: String, reason: String, leftBehind: String? = nil)
    case renameFailed(from: String, to: String, reason: String)

    public func description(spelling: (APIArgument) -> String) -> String {
        switch self {
        case .destinationExists(let path): return "\(path) already exists (use \(spelling(.overwrite)) to replace it)"
        case .destinationIsInput(let path, let input):
            return path == input
                ? "refusing to write \(path): it is an input of this command (not even with \(spelling(.overwrite)))"
                : "refusing to write \(path): it is the same file as the input \(input) (not even with \(spelling(.overwrite)))"
        case .destinationIsDirectory(let path): return "\(path) is a directory; give a file name to write"
        case .cannotCreate(let path, let reason): return "cannot create \(path): \(reason)"
        case .writeFailed(let path, let reason, let leftBehind):
            if let leftBehind { return "writing \(path) failed: \(reason); the destination was left untouched, but \(leftBehind) could not be removed" }
            return "writing \(path) failed: \(reason); the destination was left untouched and nothing was left behind"
        case .renameFailed(let from, let to, let reason): return "cannot move \(from) to \(to): \(reason)"
        }
    }
}

/// A file that appears at its destination complete or not at all.
///
/// The bytes go to an unnamed temporary file in the destination's directory (`O_TMPFILE`),
/// which no interruption can leave behind, not even SIGKILL: the kernel drops it with the
/// last descriptor. `commit()` syncs it and gives it its name (`linkat` through
/// `/proc/self/fd/N`); an existing destination being replaced (`overwrite`) is replaced by a
/// link to a temporary name and a `rename`, so readers see the old file or the new one.
///
/// Where the file system has no `O_TMPFILE`, the temporary is a named file
/// `.NAME.weightkit-PID-RANDOM` beside the destination (see `TemporaryNames`): it is removed
/// when writing fails, when the object is dropped uncommitted, and on SIGINT, SIGTERM or
/// SIGHUP; what a SIGKILL leaves is removed by the next output written to that directory.
///
/// The destination is refused before anything is written when it exists (unless
/// `overwrite`), when it is a directory, or when it is one of `inputs` (always).
public final class OutputFile {
    public let destination: String
    /// The named temporary holding the bytes until the commit; nil for an unnamed one.
    public private(set) var temporaryPath: String?
    private let overwrite: Bool
    private let inputs: InputFiles
    private var descriptor: Int32
    private var cleanupSlot: Int32 = -1
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    private var committed = false
    private var synchronized = false
    /// Bytes written so far (before compression).
    public private(set) var bytesWritten = 0
    /// Compresses everything written into one zstd frame, when set.
    private let compressor: ZstdCompressor?

    /// How the temporary is made (tests use `.named` to exercise the fallback).
    enum TemporaryKind { case unnamedWhenPossible, named }

    /// The mode every output gets (`fchmod`, before any byte is written).
    public static let mode: mode_t = 0o644

    /// Creates the temporary file.
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing destination on commit; otherwise an existing
    ///     destination is an error now, before anything is written (and again at the commit,
    ///     which never replaces a file that appeared meanwhile).
    ///   - inputs: the files the caller reads; a destination that is one of them is refused
    ///     even with `overwrite`.
    ///   - compression: write the bytes as one zstd frame (streaming; `write(_:at:)` is then
    ///     unavailable).
    ///   - size: the bytes that will be written, when known; recorded in a zstd frame's header.
    /// - Throws: `WriteError.destinationExists`, `.destinationIsInput`, `.destinationIsDirectory`,
    ///   `.cannotCreate`.
    public convenience init(
        destination: String, overwrite: Bool = false, inputs: InputFiles = InputFiles(), compression: ZstdCompression? = nil,
        size: Int? = nil
    ) throws {
        try self.init(destination: destination, overwrite: overwrite, inputs: inputs, compression: compression, size: size,
                      temporary: .unnamedWhenPossible)
    }

    init(
        destination: String, overwrite: Bool, inputs: InputFiles, compression: ZstdCompression?, size: Int?,
        temporary: TemporaryKind
    ) throws {
        try OutputFile.checkDestination(destination, overwrite: overwrite, inputs: inputs)
        self.destination = destination
        self.overwrite = overwrite
        self.inputs = inputs
        let directory = PathName.directory(of: destination)
        TemporaryNames.sweep(directory: directory)
        var fd: Int32 = -1
        if temporary == .unnamedWhenPossible {
            fd = wk_open_unnamed(directory, UInt32(OutputFile.mode))
            if fd < 0 && ![EOPNOTSUPP, EISDIR, EINVAL, ENOTSUP].contains(errno) {
                throw WriteError.cannotCreate(path: destination, reason: errnoDescription())
            }
        }
        if fd < 0 {
            let path = TemporaryNames.make(for: destination)
            cleanupSlot = wk_cleanup_register(path)
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let reason = errnoDescription()
                wk_cleanup_unregister(cleanupSlot)
                throw WriteError.cannotCreate(path: destination, reason: reason)
            }
            temporaryPath = path
        }
        self.descriptor = fd
        fchmod(fd, OutputFile.mode)
        do {
            self.compressor = try compression.map { try ZstdCompressor($0, path: destination, size: size) }
        } catch {
            close(fd)
            if let temporaryPath { unlink(temporaryPath) }
            wk_cleanup_unregister(cleanupSlot)
            throw error
        }
        buffer.reserveCapacity(bufferLimit)
    }

    /// Gives the file the mode, owner and group of the file at `path` (for a file rewritten in
    /// place). The owner and group are set only where the process may (root, or a group it
    /// belongs to); the mode always.
    public func takeAttributes(of path: String) {
        var info = stat()
        guard descriptor >= 0, stat(path, &info) == 0 else { return }
        _ = fchown(descriptor, info.st_uid, info.st_gid)
        if info.st_uid != geteuid() || info.st_gid != getegid() { _ = fchown(descriptor, uid_t.max, info.st_gid) }
        fchmod(descriptor, info.st_mode & 0o7777)
    }

    /// Refuses a destination that is an input, a directory, or (without `overwrite`) exists.
    public static func checkDestination(_ destination: String, overwrite: Bool, inputs: InputFiles) throws {
        if let input = inputs.input(at: destination) {
            throw WriteError.destinationIsInput(path: destination, input: input)
        }
        switch FileSystem.kindWithoutFollowing(destination) {
        case .missing: return
        case .directory: throw WriteError.destinationIsDirectory(path: destination)
        default: if !overwrite { throw WriteError.destinationExists(path: destination) }
        }
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
        guard descriptor >= 0 else { throw WriteError.writeFailed(path: destination, reason: "the file was abandoned") }
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
        let left = abandon()
        return WriteError.writeFailed(path: destination, reason: reason, leftBehind: left)
    }

    /// Flushes and syncs the temporary file: what is left of a commit is giving it its name.
    /// Several files committed together (`OutputFileGroup`) are all synchronised first.
    public func synchronize() throws {
        guard !synchronized else { return }
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
        synchronized = true
    }

    /// Flushes, syncs and puts the file at its destination.
    ///
    /// - Throws: `.destinationExists` when, without `overwrite`, a file appeared at the
    ///   destination meanwhile (it is not replaced); `.destinationIsInput`; `.renameFailed`.
    public func commit() throws {
        try synchronize()
        do {
            try OutputFile.checkDestination(destination, overwrite: overwrite, inputs: inputs)
        } catch {
            abandon()
            throw error
        }
        if let temporaryPath {
            close(descriptor)
            descriptor = -1
            try place(temporaryPath)
        } else if !overwrite {
            guard wk_link_descriptor(descriptor, destination) == 0 else {
                let code = errno, reason = errnoDescription()
                abandon()
                if code == EEXIST { throw WriteError.destinationExists(path: destination) }
                throw WriteError.renameFailed(from: "(unnamed temporary)", to: destination, reason: reason)
            }
        } else {
            let name = TemporaryNames.make(for: destination)
            let slot = wk_cleanup_register(name)
            defer { wk_cleanup_unregister(slot) }
            guard wk_link_descriptor(descriptor, name) == 0 else {
                let reason = errnoDescription()
                abandon()
                throw WriteError.renameFailed(from: "(unnamed temporary)", to: name, reason: reason)
            }
            try place(name)
        }
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        wk_cleanup_unregister(cleanupSlot)
        cleanupSlot = -1
        committed = true
    }

    /// Renames the named temporary `name` onto the destination (never replacing without
    /// `overwrite`); on failure it is removed.
    private func place(_ name: String) throws {
        let result = overwrite ? rename(name, destination) : TemporaryNames.renameWithoutReplacing(name, destination)
        guard result == 0 else {
            let code = errno, reason = errnoDescription()
            unlink(name)
            abandon()
            if code == EEXIST { throw WriteError.destinationExists(path: destination) }
            throw WriteError.renameFailed(from: name, to: destination, reason: reason)
        }
    }

    /// Drops the temporary file; the destination is not touched.
    ///
    /// - Returns: the path of a named temporary that could not be removed, nil when nothing
    ///   is left.
    @discardableResult
    public func abandon() -> String? {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        var left: String?
        if !committed, let temporaryPath, unlink(temporaryPath) != 0, errno != ENOENT { left = temporaryPath }
        wk_cleanup_unregister(cleanupSlot)
        cleanupSlot = -1
        committed = true
        return left
    }
}

/// `write(2)`, named apart from `OutputFile.write`.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
