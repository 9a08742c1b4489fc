import Testing
import WeightFormats

/// `weightkit run` on Meta multi-token-prediction checkpoints (issue 6's CLI contract).
@Suite struct MultiTokenRunTests {
    static func prompt() throws -> [Int] {
        try #require(try CLI.json("mtp/mtp-gqa-2heads/reference.json")["prompt"]?.arrayValue).compactMap { $0.intValue }
    }

    static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (difference / norm).squareRoot()
    }

    @Test("--logits writes [T, H, vocab] for all heads, [T, 1, vocab] with --heads 1; --values writes [T, 1]")
    func logitsAndValues() throws {
        let prompt = try Self.prompt().map(String.init).joined(separator: ",")
        let directory = CLI.temporaryDirectory()
        let model = CLI.fixture("mtp/mtp-gqa-2heads")
        let all = try CLI.run(["run", model, "--tokens", prompt, "--logits", directory + "/all.npy",
                               "--value-head", CLI.fixture("mtp/mtp-gqa-2heads.value_head.safetensors"), "--values", directory + "/values.npy"])
        #expect(all.status == 0, "\(all.stderr)")
        let logits = try NPY.read(directory + "/all.npy")
        let expected = try NPY.read(CLI.fixture("mtp/mtp-gqa-2heads/logits.npy"))
        #expect(logits.shape == expected.shape)
        #expect(Self.relativeL2(logits.values, expected.values) <= 1e-4)
        let values = try NPY.read(directory + "/values.npy")
        let expectedValues = try NPY.read(CLI.fixture("mtp/mtp-gqa-2heads/values.npy"))
        #expect(values.shape == expectedValues.shape)
        #expect(Self.relativeL2(values.values, expectedValues.values) <= 1e-4)

        let one = try CLI.run(["run", model, "--tokens", prompt, "--logits", directory + "/one.npy", "--heads", "1"])
        #expect(one.status == 0)
        #expect(try NPY.read(directory + "/one.npy").shape == [expected.shape[0], 1, expected.shape[2]])
    }

    @Test("--speculative: greedy tokens, with acceptance_rate and speedup in the JSON")
    func speculative() throws {
        let reference = try CLI.json("mtp/mtp-4heads/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap { $0.intValue }.map(String.init).joined(separator: ",")
        let result = try CLI.run(["run", CLI.fixture("mtp/mtp-4heads"), "--tokens", prompt, "--generate", "12", "--speculative", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json["tokens"] == reference["greedy"])
        #expect(json.objectValue?.keys == ["prompt_tokens", "tokens", "text", "stop_reason", "prefill_tokens_per_second",
                                           "decode_tokens_per_second", "acceptance_rate", "speedup", "isa"])
        #expect(json["text"] == .null)
        #expect(json["stop_reason"]?.stringValue == "length")
    }

    @Test("values without a value head, and MTP options on other models, are clear errors")
    func errors() throws {
        let noHead = try CLI.run(["run", CLI.fixture("mtp/mtp-4heads"), "--tokens", "1,2", "--values", "/tmp/x.npy"])
        #expect(noHead.status == 64)
        let wrongModel = try CLI.run(["run", CLI.fixture("models/qwen2-tiny"), "--tokens", "1", "--generate", "1", "--speculative"])
        #expect(wrongModel.status == 1)
        #expect(wrongModel.stderr.contains("multi-token-prediction"))
    }
}
