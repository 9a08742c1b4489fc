import Testing
import WeightFormats

/// Paths into the repository's `Fixtures/` directory.
enum Fixture {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func path(_ relative: String) -> String {
        PathName.join(PathName.join(root, "Fixtures"), relative)
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSON.parse(FileSystem.readFile(path(relative)))
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        try FileSystem.readFile(path(relative))
    }
}

/// A fresh directory under /tmp for one test's outputs.
func temporaryDirectory(_ name: String = #function) throws -> String {
    let cleaned = name.filter { $0.isLetter || $0.isNumber }
    var template = Array("/tmp/weightkit-\(cleaned)-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw WriteError.cannotCreate(path: "/tmp", reason: "mkdtemp failed") }
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

#if canImport(Glibc)
import Glibc
#endif
