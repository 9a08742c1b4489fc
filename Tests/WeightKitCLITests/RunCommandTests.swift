import Testing
import WeightFormats

/// `weightkit run`: the CLI contract of issue 5 on the tiny transformers models.
@Suite struct RunCommandTests {
    @Test("--logits writes float32 [T, vocab] equal to transformers'; --generate prints greedy tokens")
    func logitsAndGreedy() throws {
        let reference = try CLI.json("models/qwen3-tiny/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap { $0.intValue }
        let out = CLI.temporaryDirectory() + "/logits.npy"
        let result = try CLI.run(["run", CLI.fixture("models/qwen3-tiny"), "--tokens", prompt.map(String.init).joined(separator: ","),
                                  "--logits", out, "--generate", "8", "--ignore-eos", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json.objectValue?.keys == ["prompt_tokens", "tokens", "text", "stop_reason", "prefill_tokens_per_second",
                                            "decode_tokens_per_second", "isa"])
        #expect(json["isa"]?.stringValue == Kernels.best.tier.rawValue)
        #expect(result.stderr.contains("isa: \(Kernels.best)"), "\(result.stderr)")
        #expect(json["tokens"]?.arrayValue == reference["greedy"]?.arrayValue)
        let written = try NPY.read(out)
        let expected = try NPY.read(CLI.fixture("models/qwen3-tiny/logits.npy"))
        #expect(written.shape == expected.shape)
        var difference = 0.0, norm = 0.0
        for (a, b) in zip(written.values, expected.values) { difference += Double(a - b) * Double(a - b); norm += Double(b) * Double(b) }
        #expect((difference / norm).squareRoot() <= 1e-4)
    }

    @Test("sampling with a seed is reproducible")
    func seededSampling() throws {
        let arguments = ["run", CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-f16.gguf"), "--tokens", "5,17,256", "--generate", "6", "--ignore-eos",
                         "--temperature", "0.9", "--top-k", "40", "--top-p", "0.95", "--seed", "7", "--json"]
        let first = try CLI.run(arguments), second = try CLI.run(arguments)
        #expect(first.status == 0)
        #expect(first.json?["tokens"] == second.json?["tokens"])
        #expect(first.json?["tokens"]?.arrayValue?.count == 6)
    }

    @Test("bad input: token out of range, unsupported model, bad options")
    func errors() throws {
        let outOfRange = try CLI.run(["run", CLI.fixture("models/qwen2-tiny"), "--tokens", "1,100000", "--generate", "1"])
        #expect(outOfRange.status == 1)
        #expect(outOfRange.stderr.contains("100000"))
        let badTopP = try CLI.run(["run", CLI.fixture("models/qwen2-tiny"), "--tokens", "1", "--generate", "1", "--top-p", "1.5"])
        #expect(badTopP.status == 64)
        let nothing = try CLI.run(["run", CLI.fixture("models/qwen2-tiny"), "--tokens", "1"])
        #expect(nothing.status == 64)
    }
}
