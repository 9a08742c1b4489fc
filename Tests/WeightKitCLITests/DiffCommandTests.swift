import Foundation
import Testing
import WeightFormats

/// `weightkit diff` as a user runs it: the documented JSON keys, the text summary, errors.
@Suite struct DiffCommandTests {
    @Test func jsonHasTheDocumentedKeys() throws {
        let reference = try CLI.json("conversion/diff/llama-hf-vs-q8_0.json")
        let result = try CLI.run(["diff", CLI.fixture("models/llama-tiny"), CLI.fixture("models/llama-tiny-gguf/llama-tiny-q8_0.gguf"), "--json"])
        #expect(result.status == 0)
        let json = try #require(result.json)
        for key in ["a", "b", "mapping", "summary", "tensors", "only_in_a", "only_in_b", "shape_mismatches", "metadata", "notes"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let tensors = try #require(json["tensors"]?.arrayValue)
        let expected = try #require(reference["tensors"]?.objectValue)
        let worst = expected.map { $0.value["rel_l2"]!.doubleValue! }.max()!
        #expect(abs(json["summary"]!["max_rel_l2"]!.doubleValue! - worst) <= 1e-6 * worst)
        let first = try #require(tensors.first)
        for key in ["name", "shape", "a_sources", "b_sources", "a_dtype", "b_dtype", "elements", "rel_l2", "max_abs", "cosine"] {
            #expect(first[key] != nil, "missing tensors[].\(key)")
        }
        // llama3 rope scaling lives in config.json; the GGUF keeps only the computed rope_freqs.
        let keys = json["metadata"]!.arrayValue!.compactMap { $0["key"]?.stringValue }
        #expect(keys.contains("text.positions.rotary.scaling.type"))
    }

    @Test func textEndsWithASummary() throws {
        let reference = try CLI.json("conversion/diff/qwen2-f32-vs-q8_0.json")
        let count = reference["tensors"]!.objectValue!.count
        let result = try CLI.run(["diff", CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"), CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("tensors paired by name"))
        #expect(result.stdout.contains("general.file_type"))
        #expect(result.stdout.split(separator: "\n").last!.hasPrefix("\(count) tensors compared"))
    }

    @Test func missingFileIsAnError() throws {
        let result = try CLI.run(["diff", "/nonexistent/a.gguf", CLI.fixture("models/qwen2-tiny")])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("/nonexistent/a.gguf"))
        let negative = try CLI.run(["diff", CLI.fixture("models/qwen2-tiny"), CLI.fixture("models/qwen2-tiny"), "--top", "-1"])
        #expect(negative.status != 0)
        #expect(negative.stderr.contains("--top"))
    }
}
