import Testing
import WeightCompute
import WeightFormats
@testable import WeightModels

/// Meta's multi-token-prediction models against the independent PyTorch implementation
/// (Fixtures/generators/mtp_models.py): logits of every head, hidden states, values, greedy and
/// speculative tokens.
@Suite struct MetaMTPTests {
    static let models = ["mtp-4heads", "mtp-gqa-2heads", "mtp-3heads-config"]

    static func load(_ name: String) throws -> MetaMTPModel {
        try #require(try ModelRegistry.load(Fixture.path("mtp/\(name)")) as? MetaMTPModel)
    }

    static func prompt(_ name: String) throws -> [Int] {
        try requiredInts(Fixture.json("mtp/\(name)/reference.json")["prompt"], "prompt")
    }

    @Test("full_forward: logits [T, H, vocab], hidden states and values", arguments: models)
    func fullForward(name: String) throws {
        let model = try Self.load(name)
        model.valueHead = try ValueHead(path: Fixture.path("mtp/\(name).value_head.safetensors"), dimension: model.hiddenSize)
        let prompt = try Self.prompt(name)
        let (logits, values, hidden) = try model.fullForward(prompt)
        let expectedLogits = try NPY.read(Fixture.path("mtp/\(name)/logits.npy"))
        #expect(expectedLogits.shape == [prompt.count, model.futureTokens, model.vocabularySize])
        #expect(relativeL2(logits, expectedLogits.values) <= 1e-4)
        #expect(relativeL2(hidden, try NPY.read(Fixture.path("mtp/\(name)/hidden.npy")).values) <= 1e-4)
        #expect(relativeL2(try #require(values), try NPY.read(Fixture.path("mtp/\(name)/values.npy")).values) <= 1e-4)
    }

    @Test("trunk_forward, with the value head on head 0 or on the trunk", arguments: models)
    func trunkForward(name: String) throws {
        let model = try Self.load(name)
        let prompt = try Self.prompt(name)
        #expect(throws: ModelError.self) { try model.trunkForward(prompt) }
        model.valueHead = try ValueHead(path: Fixture.path("mtp/\(name).value_head.safetensors"), dimension: model.hiddenSize)
        let (hidden, values) = try model.trunkForward(prompt)
        #expect(relativeL2(hidden, try NPY.read(Fixture.path("mtp/\(name)/hidden.npy")).values) <= 1e-4)
        #expect(relativeL2(values, try NPY.read(Fixture.path("mtp/\(name)/values.npy")).values) <= 1e-4)
        model.valueHead?.source = .trunk
        let (_, trunkValues) = try model.trunkForward(prompt)
        #expect(relativeL2(trunkValues, try NPY.read(Fixture.path("mtp/\(name)/trunk_values.npy")).values) <= 1e-4)
    }

    @Test("greedy and self-speculative decoding give the reference's tokens", arguments: models)
    func decoding(name: String) throws {
        let model = try Self.load(name)
        let prompt = try Self.prompt(name)
        let expected = try requiredInts(Fixture.json("mtp/\(name)/reference.json")["greedy"], "greedy")
        let greedy = try generate(model, prompt: prompt, count: expected.count, options: .greedy)
        #expect(greedy.tokens == expected)
        let speculative = try model.generateSpeculatively(prompt: prompt, count: expected.count)
        #expect(speculative.tokens == expected)
        #expect(speculative.draftsProposed >= speculative.draftsAccepted)
    }

    @Test("Meta's consolidated.00.pth loads like its safetensors copy")
    func pytorchCheckpoint() throws {
        let model = try #require(try ModelRegistry.load(Fixture.path("pytorch/mtp-4heads-pth")) as? MetaMTPModel)
        let prompt = try Self.prompt("mtp-4heads")
        let (logits, _, _) = try model.fullForward(prompt)
        #expect(relativeL2(logits, try NPY.read(Fixture.path("mtp/mtp-4heads/logits.npy")).values) <= 1e-4)
    }

    @Test("the llama-mtp GGUF layout (written by gguf-py) loads and runs like the safetensors original",
          arguments: [("mtp-4heads", "f32", 1e-4), ("mtp-gqa-2heads", "f32", 1e-4), ("mtp-4heads", "f16", 5e-3)])
    func ggufLayout(name: String, type: String, tolerance: Double) throws {
        let model = try #require(try ModelRegistry.load(Fixture.path("mtp/\(name).\(type).gguf")) as? MetaMTPModel)
        let prompt = try Self.prompt(name)
        let (logits, _, _) = try model.fullForward(prompt)
        #expect(relativeL2(logits, try NPY.read(Fixture.path("mtp/\(name)/logits.npy")).values) <= tolerance)
        if type == "f32" {
            let expected = try requiredInts(Fixture.json("mtp/\(name)/reference.json")["greedy"], "greedy")
            #expect(try generate(model, prompt: prompt, count: expected.count, options: .greedy).tokens == expected)
        }
    }

    @Test("a created value head saves and loads unchanged")
    func valueHeadRoundTrip() throws {
        let head = ValueHead(dimension: 64, seed: 42, source: .trunk)
        #expect(head.weight.allSatisfy { abs($0) <= 1 / 8 })
        let path = "/tmp/weightkit-value-head-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        try head.save(to: path)
        let loaded = try ValueHead(path: path, dimension: 64, source: .trunk)
        #expect(loaded == head)
        #expect(ValueHead(dimension: 64, seed: 42) .weight == head.weight)
        #expect(throws: (any Error).self) { try ValueHead(path: path, dimension: 32) }
    }
}
