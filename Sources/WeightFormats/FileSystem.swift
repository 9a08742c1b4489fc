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
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
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
