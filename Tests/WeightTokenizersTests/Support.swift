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
}
