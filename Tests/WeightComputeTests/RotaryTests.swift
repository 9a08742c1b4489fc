import Foundation
import Testing
import WeightCompute
import WeightFormats

/// RoPE frequencies against transformers' `modeling_rope_utils` and rotations against
/// `apply_rotary_pos_emb` (Fixtures/generators/rotary_tables.py), both layouts against a plain
/// loop.
@Suite struct RotaryTests {
    static let fixture = try? Fixture.json("compute/rotary.json")
    static let caseNames: [String] = fixture?["cases"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []

    static func floats(_ value: JSONValue?) -> [Float] { (value?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) } }

    /// The table WeightKit builds from the case's config values.
    static func table(_ entry: JSONValue) throws -> RotaryTable {
        let rope = try #require(entry["rope"])
        let factor = Float(rope["factor"]?.doubleValue ?? 1)
        let scaling: RotaryTable.Scaling
        switch rope["rope_type"]?.stringValue ?? rope["type"]?.stringValue {
        case "linear": scaling = .linear(factor: factor)
        case "dynamic": scaling = .dynamic(factor: factor, originalContext: try #require(entry["max_position_embeddings"]?.intValue))
        case "llama3":
            scaling = .llama3(factor: factor, lowFrequencyFactor: Float(try #require(rope["low_freq_factor"]?.doubleValue)),
                              highFrequencyFactor: Float(try #require(rope["high_freq_factor"]?.doubleValue)),
                              originalContext: try #require(rope["original_max_position_embeddings"]?.intValue))
        case "yarn":
            scaling = .yarn(factor: factor, originalContext: try #require(rope["original_max_position_embeddings"]?.intValue),
                            betaFast: Float(rope["beta_fast"]?.doubleValue ?? 32), betaSlow: Float(rope["beta_slow"]?.doubleValue ?? 1),
                            attentionFactor: rope["attention_factor"]?.doubleValue.map(Float.init))
        case "longrope", "su":
            // The attention factor is the description's to compute (Phi3 in WeightArchitecture); the
            // table is given transformers' value.
            scaling = .longrope(shortFactors: floats(rope["short_factor"]), longFactors: floats(rope["long_factor"]),
                                originalContext: try #require(entry["original_max_position_embeddings"]?.intValue),
                                attentionFactor: Float(try #require(entry["attention_factor"]?.doubleValue)))
        default: scaling = .none
        }
        return RotaryTable(dimensions: try #require(entry["dimensions"]?.intValue),
                           base: Float(try #require(entry["theta"]?.doubleValue)), layout: .halves, scaling: scaling)
    }

    static func entry(_ name: String) throws -> JSONValue {
        try #require(fixture?["cases"]?.arrayValue?.first { $0["name"]?.stringValue == name })
    }

    @Test("fixture present")
    func fixturePresent() {
        #expect(Self.caseNames.count >= 8)
        #expect(Self.caseNames.filter { $0.hasPrefix("longrope") }.count >= 4)
    }

    @Test("inverse frequencies and attention factor equal transformers'", arguments: caseNames)
    func frequencies(name: String) throws {
        let entry = try Self.entry(name)
        let table = try Self.table(entry)
        // Both sides compute base^(2i/d) in float32 or better: a few ulp apart at most.
        expectClose(table.inverseFrequencies, Self.floats(entry["inv_freq"]).doubles,
                    scale: Self.floats(entry["inv_freq"]).map { Double(abs($0)) }, tolerance: 5e-7, name)
        #expect(abs(Double(table.attentionFactor) - (entry["attention_factor"]?.doubleValue ?? .nan)) <= 1e-6, "\(name)")
        for step in entry["by_sequence_length"]?.arrayValue ?? [] {
            let length = try #require(step["sequence_length"]?.intValue)
            let expected = Self.floats(step["inv_freq"])
            expectClose(table.frequencies(sequenceLength: length), expected.doubles, scale: expected.map { Double(abs($0)) },
                        tolerance: 2e-6, "\(name), sequence length \(length)")
        }
    }

    @Test("rotate-half rotation equals apply_rotary_pos_emb at positions up to 9000", arguments: caseNames)
    func rotation(name: String) throws {
        let entry = try Self.entry(name)
        guard let positions = entry["positions"]?.arrayValue?.compactMap(\.intValue) else { return }
        let table = try Self.table(entry)
        let heads = try #require(Self.fixture?["heads"]?.intValue), headSize = try #require(entry["head_dim"]?.intValue)
        var vectors = Self.floats(entry["query"])
        let expected = Self.floats(entry["rotated"])
        // transformers' own frequencies: this checks the rotation alone (the angle position · inv_freq
        // magnifies a last-bit difference in inv_freq at large positions).
        let frequencies = Self.floats(entry["inv_freq"])
        vectors.withUnsafeMutableBufferPointer { buffer in
            for (index, position) in positions.enumerated() {
                table.apply(to: buffer.baseAddress! + index * heads * headSize, heads: heads, headSize: headSize,
                            position: position, frequencies: frequencies)
            }
        }
        expectClose(vectors, expected.doubles, tolerance: 2e-6, name)
    }

    @Test("longrope: Phi3RotaryEmbedding's rotation with the short factors within the original context, the long ones past it",
          arguments: caseNames.filter { $0.hasPrefix("longrope") })
    func longropeRotation(name: String) throws {
        let entry = try Self.entry(name)
        let table = try Self.table(entry)
        let heads = try #require(Self.fixture?["heads"]?.intValue), headSize = try #require(entry["head_dim"]?.intValue)
        var checked = 0
        for label in ["rotation_short", "rotation_long"] {
            guard let rotation = entry[label] else { continue }
            let positions = (rotation["positions"]?.arrayValue ?? []).compactMap(\.intValue)
            #expect(!positions.isEmpty, "\(name) \(label) positions")
            // The table's own choice for a sequence reaching the last position, against the embedding's.
            let frequencies = table.frequencies(sequenceLength: (positions.max() ?? 0) + 1)
            let expectedFrequencies = Self.floats(rotation["inv_freq"])
            expectClose(frequencies, expectedFrequencies.doubles, scale: expectedFrequencies.map { Double(abs($0)) }, tolerance: 5e-7,
                        "\(name) \(label) frequencies")
            var vectors = Self.floats(rotation["query"])
            let expected = Self.floats(rotation["rotated"])
            vectors.withUnsafeMutableBufferPointer { buffer in
                for (index, position) in positions.enumerated() {
                    table.apply(to: buffer.baseAddress! + index * heads * headSize, heads: heads, headSize: headSize,
                                position: position, frequencies: expectedFrequencies)
                }
            }
            expectClose(vectors, expected.doubles, tolerance: 4e-6, "\(name) \(label)")
            checked += 1
        }
        if entry["dimensions"]?.intValue == entry["head_dim"]?.intValue { #expect(checked == 2, "\(name)") }
    }

    /// Rotates pairs (i, partner(i)) by position · frequency[i] and scales by `factor`; dimensions
    /// past `dimensions` are left alone.
    static func reference(_ x: [Float], heads: Int, headSize: Int, dimensions: Int, layout: RotaryTable.Layout,
                          position: Int, frequencies: [Float], factor: Double) -> [Double] {
        var y = x.doubles
        for head in 0..<heads {
            let o = head * headSize
            for i in 0..<(dimensions / 2) {
                let (first, second) = layout == .halves ? (o + i, o + i + dimensions / 2) : (o + 2 * i, o + 2 * i + 1)
                let angle = Double(Float(position) * frequencies[i])
                let (a, b) = (Double(x[first]), Double(x[second]))
                y[first] = (a * cos(angle) - b * sin(angle)) * factor
                y[second] = (b * cos(angle) + a * sin(angle)) * factor
            }
        }
        return y
    }

    @Test("both layouts, partial rotary and several heads against a plain loop")
    func layouts() {
        var inputs = RandomInputs(seed: 31)
        let yarn = RotaryTable.Scaling.yarn(factor: 4, originalContext: 512, betaFast: 32, betaSlow: 1, attentionFactor: nil)
        for layout in [RotaryTable.Layout.halves, .interleaved] {
            for (headSize, dimensions) in [(2, 2), (18, 18), (64, 64), (80, 32), (128, 64), (96, 96)] {
                for scaling in [RotaryTable.Scaling.none, yarn] {
                    let table = RotaryTable(dimensions: dimensions, base: 10000, layout: layout, scaling: scaling)
                    for (heads, position) in [(1, 0), (3, 1), (2, 37), (5, 1000), (1, 65535)] {
                        var x = inputs.floats(heads * headSize)
                        let reference = Self.reference(x, heads: heads, headSize: headSize, dimensions: dimensions, layout: layout,
                                                       position: position, frequencies: table.inverseFrequencies,
                                                       factor: Double(table.attentionFactor))
                        x.withUnsafeMutableBufferPointer {
                            table.apply(to: $0.baseAddress!, heads: heads, headSize: headSize, position: position,
                                        frequencies: table.inverseFrequencies)
                        }
                        // Untouched dimensions keep their exact values.
                        let untouched = (0..<heads).flatMap { h in (dimensions..<headSize).map { h * headSize + $0 } }
                        #expect(untouched.allSatisfy { Double(x[$0]) == reference[$0] })
                        expectClose(x, reference, tolerance: 2e-6,
                                    "\(layout), head \(headSize), rotary \(dimensions), \(heads) heads, position \(position)")
                    }
                }
            }
        }
    }

    @Test("frequency factors divide each inverse frequency")
    func frequencyFactors() {
        var inputs = RandomInputs(seed: 32)
        let factors = inputs.floats(24, in: 1...40)
        let plain = RotaryTable(dimensions: 48, base: 500000, layout: .interleaved)
        let scaled = RotaryTable(dimensions: 48, base: 500000, layout: .interleaved, scaling: .frequencyFactors(factors))
        expectClose(scaled.inverseFrequencies, zip(plain.inverseFrequencies, factors).map { Double($0) / Double($1) },
                    scale: scaled.inverseFrequencies.map { Double($0) }, tolerance: 2e-7)
    }
}
