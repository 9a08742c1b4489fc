import Testing
import WeightFormats
@testable import WeightConversion

/// `weightkit diff`'s statistics against NumPy's on the same pairs (Fixtures/conversion/diff,
/// written by generators/diff_statistics.py from gguf-py readings and llama.cpp's permutation).
@Suite struct DiffTests {
    static let cases = ["qwen3-hf-vs-q8_0", "llama-hf-vs-q8_0", "llama-hf-vs-f16", "qwen3moe-hf4x-vs-q8_0", "qwen2-f32-vs-q8_0"]

    static func close(_ value: Double, _ expected: Double) -> Bool {
        abs(value - expected) <= 1e-6 * max(abs(expected), 1e-12)
    }

    @Test(arguments: cases)
    func statisticsMatchNumPy(_ name: String) throws {
        let reference = try Fixture.json("conversion/diff/\(name).json")
        let a = Fixture.path(reference["a"]!.stringValue!), b = Fixture.path(reference["b"]!.stringValue!)
        let comparison = try CheckpointDiff.compare(a, b)
        let expected = reference["tensors"]!.objectValue!
        let compared = comparison.tensors.filter { $0.dtypeA != "computed" && $0.dtypeB != "computed" }
        #expect(Set(compared.map(\.name)) == Set(expected.map(\.key)))
        #expect(comparison.shapeMismatches.isEmpty)
        for tensor in compared {
            guard let stats = expected[tensor.name] else { continue }
            let s = tensor.statistics
            #expect(Self.close(s.relativeL2Error, stats["rel_l2"]!.doubleValue!), "\(tensor.name) rel_l2")
            #expect(Self.close(s.maxAbsoluteError, stats["max_abs"]!.doubleValue!), "\(tensor.name) max_abs")
            #expect(Self.close(s.cosineSimilarity, stats["cosine"]!.doubleValue!), "\(tensor.name) cosine")
        }
        let onlyA = reference["only_in_a"]!.arrayValue!.compactMap(\.stringValue)
        #expect(Set(comparison.onlyInA) == Set(onlyA))
        // llama's rope_freqs is stored in the GGUF and computed from config.json on the HF side.
        let computed = Set(comparison.tensors.filter { $0.dtypeA == "computed" }.map(\.name))
        let onlyB = Set(reference["only_in_b"]!.arrayValue!.compactMap(\.stringValue)).subtracting(computed)
        #expect(Set(comparison.onlyInB) == onlyB)
    }

    @Test func resultDoesNotDependOnThreadCount() throws {
        let a = Fixture.path("models/llama-tiny"), b = Fixture.path("models/llama-tiny-gguf/llama-tiny-q8_0.gguf")
        let one = try CheckpointDiff.compare(a, b, threads: 1), many = try CheckpointDiff.compare(a, b, threads: 4)
        #expect(one.tensors.map(\.name) == many.tensors.map(\.name))
        #expect(one.tensors.map(\.statistics) == many.tensors.map(\.statistics))
    }

    @Test func blocksSplitLargeTensors() throws {
        // token_embd of qwen3-tiny: 320 rows of 48, cut into blocks of 4 rows.
        let checkpoint = try Checkpoint.open(Fixture.path("models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf"))
        let view = try checkpoint.requireTensor("token_embd.weight")
        let tensor = LogicalTensor(view: view)
        let values = try view.floats()
        var whole = TensorStatistics()
        var shifted = values.map { $0 + 0.5 }
        values.withUnsafeBufferPointer { x in shifted.withUnsafeMutableBufferPointer { y in
            whole.accumulate(x.baseAddress!, y.baseAddress!, count: values.count)
        } }
        let planned = PlannedTensor(name: tensor.name, shape: view.shape, type: .ggml(.f32), content: .values(shifted))
        let blocked = CheckpointDiff.compare(tensor, LogicalTensor(planned: planned), threads: 3)
        #expect(blocked.elementCount == values.count)
        #expect(Self.close(blocked.squaredError, whole.squaredError))
        #expect(blocked.maxAbsoluteError == whole.maxAbsoluteError)
    }

    @Test func degenerateStatistics() {
        var zeros = TensorStatistics()
        let a: [Float] = [0, 0], b: [Float] = [0, 1], nan: [Float] = [.nan, 0]
        zeros.accumulate(a, a, count: 2)
        #expect(zeros.relativeL2Error == 0 && zeros.cosineSimilarity == 1)
        var oneZero = TensorStatistics()
        oneZero.accumulate(a, b, count: 2)
        #expect(oneZero.relativeL2Error == .infinity && oneZero.cosineSimilarity == 0 && oneZero.maxAbsoluteError == 1)
        var withNaN = TensorStatistics()
        withNaN.accumulate(nan, b, count: 2)
        #expect(withNaN.maxAbsoluteError.isNaN)
    }

    @Test func missingArchitectureAcrossFormatsIsAnError() throws {
        // A bare safetensors file without config.json against a GGUF with an unknown architecture.
        #expect(throws: (any Error).self) {
            try CheckpointDiff.compare(Fixture.path("conversion/writer.safetensors"), Fixture.path("conversion/writer.gguf"))
        }
    }
}
