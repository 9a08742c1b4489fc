import Testing
import WeightCompute
import WeightFormats

/// Paths into the repository's `Fixtures/` directory.
enum Fixture {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = PathName.directory(of: path) }
        return path
    }()

    static func path(_ relative: String) -> String { root + "/Fixtures/" + relative }

    static func json(_ relative: String) throws -> JSONValue { try JSON.parse(FileSystem.readFile(path(relative))) }
}

/// Lengths that are not multiples of any vector width or block, with the edge cases 1 and 8.
let awkwardLengths = [1, 2, 7, 8, 9, 31, 33, 100, 257, 1023]

/// Random inputs from a fixed seed, so a failure reproduces.
struct RandomInputs {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// Uniform floats in `range`.
    mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in range.lowerBound + Float(generator.uniform()) * (range.upperBound - range.lowerBound) }
    }

    /// Uniform integers in `range`.
    mutating func integers(_ count: Int, in range: Range<Int>) -> [Int] {
        (0..<count).map { _ in Int.random(in: range, using: &generator) }
    }
}

/// Expects `actual[i]` within `tolerance * scale[i]` of `reference[i]` for every i, where the
/// scale is the size of the quantity (Σ|terms| for a sum; by default max(|reference|, 1)).
/// Reports the worst element.
func expectClose(_ actual: [Float], _ reference: [Double], scale: [Double]? = nil, tolerance: Double,
                 _ label: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == reference.count, "\(label()): \(actual.count) values, expected \(reference.count)",
            sourceLocation: sourceLocation)
    var worst = 0.0, worstIndex = -1
    for i in 0..<min(actual.count, reference.count) {
        let size = scale?[i] ?? max(abs(reference[i]), 1)
        let error = abs(Double(actual[i]) - reference[i]) / max(size, .leastNormalMagnitude)
        if !(error <= worst) {
            worst = error
            worstIndex = i
            if error.isNaN { break }  // a NaN stays the worst (a later value would replace it)
        }
    }
    let detail = worstIndex >= 0 ? "\(actual[worstIndex]) vs \(reference[worstIndex])" : ""
    #expect(worst <= tolerance, "\(label()): worst relative error \(worst) at \(worstIndex) (\(detail))",
            sourceLocation: sourceLocation)
}

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}
