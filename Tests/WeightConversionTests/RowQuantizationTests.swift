#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import WeightConversion
import WeightFormats

/// wk_quantize_rows against ggml's own ggml_quantize_chunk on rows chosen to reach the edge
/// paths, with and without importance weights (Fixtures/generators/quantizers.py).
@Suite struct RowQuantizationTests {
    struct Case: Sendable, CustomStringConvertible {
        let type: String, weighted: Bool, input: String, file: String, rows: Int, rowLength: Int
        var description: String { "\(type)\(weighted ? " weighted" : "")\(input == "short" ? " short rows" : "")" }
    }

    static let cases: [Case] = {
        guard let outputs = (try? Fixture.json("core/quantizers/index.json"))?["outputs"]?.arrayValue else { return [] }
        return outputs.compactMap { entry in
            guard let type = entry["type"]?.stringValue, let weighted = entry["weighted"]?.boolValue,
                  let input = entry["input"]?.stringValue, let file = entry["file"]?.stringValue,
                  let rows = entry["rows"]?.intValue, let rowLength = entry["row_length"]?.intValue else { return nil }
            return Case(type: type, weighted: weighted, input: input, file: file, rows: rows, rowLength: rowLength)
        }
    }()

    @Test func everyWrittenTypeHasReferenceBytes() throws {
        #expect(!Self.cases.isEmpty, "fixture index missing")
        for type in TensorEncoding.rowQuantizableTypes {
            let recorded = Self.cases.filter { $0.type == type.name }
            #expect(recorded.contains { !$0.weighted } || TensorEncoding.requiresImportance(type), "\(type.name): no plain reference")
            let ignoresWeights = [GGMLType.f32, .f16, .bf16].contains(type)
            #expect(recorded.contains { $0.weighted } || ignoresWeights, "\(type.name): no weighted reference")
        }
        // Every type llama.cpp 0.3.36 quantises to.
        let expected: Set<String> = [
            "F32", "F16", "BF16", "Q1_0", "Q2_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4", "Q2_K", "Q3_K", "Q4_K",
            "Q5_K", "Q6_K", "TQ1_0", "TQ2_0", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_NL", "IQ4_XS",
        ]
        #expect(Set(TensorEncoding.rowQuantizableTypes.map(\.name)) == expected)
    }

    @Test("bit-identical to ggml_quantize_chunk", arguments: cases)
    func bitIdentical(_ testCase: Case) throws {
        let type = try #require(GGMLType(name: testCase.type))
        let input = try NPY.read(Fixture.path(testCase.input == "short" ? "core/quantizers/short.npy" : "core/quantizers/inputs.npy"))
        #expect(input.shape == [testCase.rows, testCase.rowLength])
        let importance = testCase.weighted
            ? try NPY.read(Fixture.path(testCase.input == "short" ? "core/quantizers/short_importance.npy" : "core/quantizers/importance.npy")).values
            : nil
        let expected = try Fixture.bytes("core/quantizers/\(testCase.file)")
        // The vector-lane kernels (where the CPU has them) and the scalar ones.
        for lanes in [true, false] {
            let produced = try TensorEncoding.quantizeRows(
                input.values, rowLength: testCase.rowLength, as: type, importance: importance, threads: 1, vectorLanes: lanes)
            try #require(produced.count == expected.count)
            let blockBytes = type.bytesPerBlock, blocksPerRow = testCase.rowLength / type.blockSize
            if let first = produced.indices.first(where: { produced[$0] != expected[$0] }) {
                let block = first / blockBytes
                Issue.record("\(testCase)\(lanes ? "" : " (scalar)"): first difference at byte \(first): row \(block / blocksPerRow), block \(block % blocksPerRow)")
            }
        }
    }

    @Test func threadsDoNotChangeTheBytes() throws {
        var values: [Float] = []
        for i in 0..<(64 * 512) { values.append(Float(sin(Double(i) * 0.37)) * Float(i % 97)) }
        let importance = (0..<512).map { Float(1 + ($0 % 7)) }
        for type in [GGMLType.q4_K, .iq4_XS, .iq2_XS, .iq1_M, .q3_K] {
            let single = try TensorEncoding.quantizeRows(values, rowLength: 512, as: type, importance: importance, threads: 1)
            let parallel = try TensorEncoding.quantizeRows(values, rowLength: 512, as: type, importance: importance, threads: 4)
            #expect(single == parallel, "\(type.name)")
        }
    }

    @Test func refusesWhatItCannotWrite() {
        #expect(throws: QuantizationError.importanceRequired(type: "IQ2_XXS")) {
            try TensorEncoding.quantizeRows([Float](repeating: 1, count: 256), rowLength: 256, as: .iq2_XXS)
        }
        #expect(throws: QuantizationError.rowNotWholeBlocks(type: "Q4_K", rowLength: 96, blockSize: 256)) {
            try TensorEncoding.quantizeRows([Float](repeating: 1, count: 96), rowLength: 96, as: .q4_K)
        }
        #expect(throws: QuantizationError.typeNotQuantizable(type: "Q8_K")) {
            try TensorEncoding.quantizeRows([Float](repeating: 1, count: 256), rowLength: 256, as: .q8_K)
        }
        #expect(throws: QuantizationError.importanceLength(expected: 256, found: 3)) {
            try TensorEncoding.quantizeRows([Float](repeating: 1, count: 256), rowLength: 256, as: .q4_K, importance: [1, 2, 3])
        }
    }
}
