import Testing
import WeightFormats

enum Fixture {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func path(_ relative: String) -> String { root + "/Fixtures/" + relative }

    static func json(_ relative: String) throws -> JSONValue { try JSON.parse(FileSystem.readFile(path(relative))) }
}

/// ‖a − b‖ / ‖b‖.
func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (difference / max(norm, 1e-300)).squareRoot()
}
