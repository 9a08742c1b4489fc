#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Path manipulation on plain strings (POSIX separators), without Foundation.
public enum PathName {
    /// `"/a/b/c.gguf"` -> `"c.gguf"`.
    public static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let slash = trimmed.lastIndex(of: "/") { return String(trimmed[trimmed.index(after: slash)...]) }
        return String(trimmed)
    }

    /// `"/a/b/c.gguf"` -> `"/a/b"`; `"c.gguf"` -> `"."`.
    public static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// Joins two path pieces with one separator.
    public static func join(_ directory: String, _ name: String) -> String {
        if name.hasPrefix("/") { return name }
        if directory.isEmpty || directory == "." { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// `"model.q8.gguf"` -> `"gguf"`, lowercased; empty when there is no extension.
    public static func fileExtension(of path: String) -> String {
        let name = lastComponent(of: path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }
}

/// The few file-system questions the readers ask, answered with POSIX calls.
public enum FileSystem {
    public enum Kind: Sendable { case missing, regularFile, directory, other }

    public static func kind(of path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// What `path` itself is: a symlink is `.other`, whatever it points to.
    public static func kindWithoutFollowing(_ path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// The path with every symlink resolved (`realpath`), nil when it does not exist.
    public static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The size in bytes of a regular file, nil when there is none at `path`.
    public static func size(of path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    public static func isDirectory(_ path: String) -> Bool { kind(of: path) == .directory }
    public static func isRegularFile(_ path: String) -> Bool { kind(of: path) == .regularFile }

    /// The names in a directory (no `.` or `..`), sorted bytewise.
    public static func contentsOfDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else {
            throw FormatError.cannotOpen(path: path, reason: errnoDescription())
        }
        defer { closedir(dir) }
        var names: [String] = []
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
        while let entry = readdir(dir) {
            // The name read in place: a record is only as long as its name (d_reclen), so
            // copying the whole 256-byte d_name field reads past the last record of readdir's
            // buffer (AddressSanitizer's heap-buffer-overflow in `make test-asan`).
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Opens `path` for reading, following symlinks, and checks that what it names is a regular
    /// file before anything is read. The open never blocks: it is made with `O_NONBLOCK`, so
    /// a FIFO without a writer is refused at once instead of waiting for one.
    ///
    /// Every reader (mapped files, JSON configurations and indexes, images, `.npy` arrays)
    /// opens its input through here.
    ///
    /// - Returns: a descriptor the caller closes.
    /// - Throws: `.cannotOpen` when the path does not exist or cannot be read,
    ///   `.notARegularFile` for a directory, `.specialFile` for a FIFO, device or socket.
    public static func openRegularFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            // ENXIO: a FIFO or socket with nothing at the other end.
            if errno == ENXIO, let kind = specialKind(of: path) { throw FormatError.specialFile(path: path, kind: kind) }
            throw FormatError.cannotOpen(path: path, reason: errnoDescription())
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = errnoDescription()
            close(fd)
            throw FormatError.cannotOpen(path: path, reason: reason)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            let flags = fcntl(fd, F_GETFL)
            if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
            return fd
        case S_IFDIR:
            close(fd)
            throw FormatError.notARegularFile(path: path)
        default:
            close(fd)
            throw FormatError.specialFile(path: path, kind: kindName(info.st_mode))
        }
    }

    /// "a FIFO", "a character device"... for a path that is neither a regular file nor a
    /// directory (after following symlinks); nil otherwise.
    public static func specialKind(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let type = info.st_mode & S_IFMT
        return type == S_IFREG || type == S_IFDIR ? nil : kindName(info.st_mode)
    }

    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    /// Reads a whole (small) file: configuration files and indexes.
    ///
    /// - Parameter limit: files larger than this are refused with `.fileTooLarge`.
    public static func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        guard file.size <= limit else {
            throw FormatError.fileTooLarge(path: path, size: file.size, limit: limit)
        }
        return Array(file.bytes)
    }
}

/// What makes two paths the same file: its device and inode, after following symlinks.
/// Hard links and symlinks to one file share an identity; a path never does by itself.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// The identity of what `path` names (following symlinks), nil when nothing is there.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// The identity of the open file `descriptor`.
    public init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// The files a command reads, which none of its outputs may replace: an output whose
/// destination already exists as one of these files (the same device and inode: the path
/// itself, a symlink to it or a hard link) is refused, even when replacing is allowed.
///
/// A command adds everything it reads before it creates an output:
///
///     var inputs = InputFiles()
///     inputs.add(checkpoint)            // every mapped file of the checkpoint and its directory
///     inputs.add(path: configPath)      // any other file (or directory) read
///     let out = try OutputFile(destination: path, overwrite: force, inputs: inputs)
///
/// Writers (`GGUFWriter`, `SafeTensorsWriter`, `NPY.write`, `OutputDirectory`) take the same
/// value. Adding a path that does not exist does nothing.
public struct InputFiles: Sendable {
    private var identities: [FileIdentity: String] = [:]

    public init() {}

    /// The inputs named by `paths`.
    public init(paths: [String]) {
        for path in paths { add(path: path) }
    }

    /// Adds the file or directory at `path` (following symlinks).
    public mutating func add(path: String) {
        if let identity = FileIdentity(path: path), identities[identity] == nil { identities[identity] = path }
    }

    /// Adds a mapped file under the identity it was opened with.
    public mutating func add(_ file: MappedFile) {
        if let identity = file.identity, identities[identity] == nil { identities[identity] = file.path }
    }

    /// Adds every input of `other`.
    public mutating func add(_ other: InputFiles) {
        identities.merge(other.identities) { first, _ in first }
    }

    /// The input path that `identity` belongs to, nil when it is no input.
    public func input(matching identity: FileIdentity) -> String? { identities[identity] }

    /// The input that the existing file at `path` is, nil when there is none or it is no input.
    public func input(at path: String) -> String? {
        FileIdentity(path: path).flatMap { identities[$0] }
    }

    public var isEmpty: Bool { identities.isEmpty }
}
