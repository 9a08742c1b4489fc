import Testing
@testable import WeightFormats

/// Paths into the repository's `Fixtures/` directory.
enum Fixture {
    /// The package root, found from this file's location.
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func path(_ relative: String) -> String {
        PathName.join(PathName.join(root, "Fixtures"), relative)
    }

    /// The shared real files (`../shared/realdata`), or nil when they are not present.
    static func realData(_ name: String) -> String? {
        let path = PathName.join(PathName.join(PathName.directory(of: root), "shared/realdata"), name)
        return FileSystem.isRegularFile(path) ? path : nil
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSON.parse(FileSystem.readFile(path(relative)))
    }
}

/// Runs `body` and returns the root `FormatError` it throws (nil when it does not throw).
func formatError<T>(_ body: () throws -> T) -> FormatError? {
    do {
        _ = try body()
        return nil
    } catch let error as FormatError {
        return error.root
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// Distance in units in the last place between two floats (0 when bit-identical; NaNs equal).
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    if a.isNaN && b.isNaN { return 0 }
    if a == b { return 0 }
    func ordered(_ x: Float) -> Int64 {
        let bits = Int64(Int32(bitPattern: x.bitPattern))
        return bits < 0 ? Int64(Int32.min) - bits : bits
    }
    return Int(min(Int64(Int.max), abs(ordered(a) - ordered(b))))
}
