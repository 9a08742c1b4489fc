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

/// A recorded array that must be there, be non-empty and hold only numbers: a missing or
/// malformed fixture fails the test instead of comparing nothing.
struct MissingFixtureData: Error, CustomStringConvertible {
    let what: String
    var description: String { "fixture data missing or malformed: \(what)" }
}

func requiredArray(_ value: JSONValue?, _ what: String) throws -> [JSONValue] {
    guard let array = value?.arrayValue, !array.isEmpty else { throw MissingFixtureData(what: what) }
    return array
}

func requiredInts(_ value: JSONValue?, _ what: String) throws -> [Int] {
    let array = try requiredArray(value, what)
    let ints = array.compactMap(\.intValue)
    guard ints.count == array.count else { throw MissingFixtureData(what: what) }
    return ints
}

func requiredDoubles(_ value: JSONValue?, _ what: String) throws -> [Double] {
    let array = try requiredArray(value, what)
    let doubles = array.compactMap(\.doubleValue)
    guard doubles.count == array.count else { throw MissingFixtureData(what: what) }
    return doubles
}
