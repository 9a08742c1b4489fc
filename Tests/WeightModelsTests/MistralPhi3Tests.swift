import Testing
import WeightArchitecture
import WeightCompute
import WeightFormats
@testable import WeightModels

/// Mistral and Phi-3 (Fixtures/generators/mistral_phi3_models.py): sliding windows shorter
/// than the prompt, Phi-3's fused projections, partial rotary and longrope, against transformers;
/// llama.cpp's converter's GGUF copies, which carry no window llama.cpp would honour; llama.cpp's
/// own greedy tokens on a prompt whose generation stays within the window.
@Suite struct MistralPhi3Tests {
    static let models = ["mistral-tiny", "phi3-tiny"]

    static func reference(_ name: String) throws -> JSONValue { try Fixture.json("models/\(name)/reference.json") }

    static func ints(_ value: JSONValue?) -> [Int] { (value?.arrayValue ?? []).compactMap(\.intValue) }

    @Test("Hugging Face directory: the window on every layer, logits and greedy tokens as transformers'", arguments: models)
    func huggingFace(name: String) throws {
        let model = try ModelRegistry.load(Fixture.path("models/\(name)"))
        let decoder = try #require(model as? DecoderModel)
        let window = try #require(try Self.reference(name)["window"]?.intValue)
        #expect(decoder.architecture.slidingWindow == window)
        #expect(decoder.blocks.allSatisfy { $0.attention.shape.window == window })
        #expect(window < Self.ints(try Self.reference(name)["prompt"]).count)
        try DecoderModelTests.check(Fixture.path("models/\(name)"), reference: name, tolerance: DecoderModelTests.tolerance["hf"]!, greedy: true)
    }

    @Test("Phi-3: fused qkv_proj and gate_up_proj bound whole, partial rotary with longrope")
    func phi3Layout() throws {
        let model = try #require(try ModelRegistry.load(Fixture.path("models/phi3-tiny")) as? DecoderModel)
        let t = model.architecture
        #expect(t.fusedQKV && t.fusedGateUp)
        let block = try #require(model.blocks.first)
        guard case .fused(let qkv) = block.attention.projections else { Issue.record("q, k and v are not fused"); return }
        #expect(qkv.outputSize == (t.headCount + 2 * t.kvHeadCount) * t.keyLength)
        guard case .fusedGated(let gateUp, _, _) = block.feedForward else { Issue.record("gate and up are not fused"); return }
        #expect(gateUp.outputSize == 2 * t.feedForwardLength)
        let rotary = try #require(block.attention.rotary)
        #expect(rotary.dimensions == t.keyLength / 2)
        guard case .longrope(_, _, let original, let attention) = rotary.scaling else { Issue.record("no longrope"); return }
        #expect(original == 256)
        #expect(attention > 1)
    }

    @Test("Phi-3 past the original context: the long factors, as transformers' 300-token prompt")
    func phi3LongPrompt() throws {
        let reference = try Self.reference("phi3-tiny")
        let prompt = Self.ints(reference["long_prompt"]?["prompt"])
        let rows = try #require(reference["long_prompt"]?["rows"]?.intValue)
        let expected = try NPY.read(Fixture.path("models/phi3-tiny/long_logits.npy"))
        for path in ["models/phi3-tiny", "models/phi3-tiny-gguf/phi3-tiny-f32.gguf"] {
            let model = try ModelRegistry.load(Fixture.path(path))
            #expect(prompt.count > 256)
            let logits = try model.logits(for: prompt)
            let last = Array(logits[((prompt.count - rows) * model.vocabularySize)...])
            #expect(expected.shape == [rows, model.vocabularySize])
            let error = relativeL2(last, expected.values)
            #expect(error <= 1e-4, "\(path): relative L2 \(error)")
        }
    }

    @Test("llama.cpp's converter's GGUF: Phi-3's window key read, logits and greedy tokens as transformers'")
    func phi3LlamaCppGGUF() throws {
        for type in ["f32", "f16", "q8_0"] {
            let path = Fixture.path("models/phi3-tiny-gguf/phi3-tiny-\(type).gguf")
            let model = try #require(try ModelRegistry.load(path) as? DecoderModel)
            #expect(model.modelType == "phi3")
            #expect(model.architecture.slidingWindow == 10)
            try DecoderModelTests.check(path, reference: "phi3-tiny", tolerance: DecoderModelTests.tolerance[type]!, greedy: type == "f32")
        }
    }

    @Test("llama.cpp's converter's Mistral GGUF has no window key: read as llama, full attention")
    func mistralLlamaCppGGUF() throws {
        let reference = try Self.reference("mistral-tiny")
        let prompt = Self.ints(reference["prompt"])
        let full = try NPY.read(Fixture.path("models/mistral-tiny/full_attention_logits.npy"))
        let windowed = try NPY.read(Fixture.path("models/mistral-tiny/logits.npy"))
        for type in ["f32", "f16", "q8_0"] {
            let path = Fixture.path("models/mistral-tiny-gguf/mistral-tiny-\(type).gguf")
            let model = try #require(try ModelRegistry.load(path) as? DecoderModel)
            #expect(model.modelType == "llama")
            #expect(model.architecture.slidingWindow == nil)
            let logits = try model.logits(for: prompt)
            let error = relativeL2(logits, full.values)
            #expect(error <= DecoderModelTests.tolerance[type]!, "\(type): relative L2 \(error) to full attention")
            if type == "f32" { #expect(relativeL2(logits, windowed.values) > 1e-2, "the window makes no difference") }
        }
    }

    @Test("llama.cpp's greedy tokens within the window, from the HF directory and llama.cpp's GGUF", arguments: models)
    func llamaCppGreedy(name: String) throws {
        let reference = try Self.reference(name)
        let prompt = Self.ints(reference["llama_cpp"]?["prompt"])
        let expected = Self.ints(reference["llama_cpp"]?["greedy"])
        let window = try #require(reference["window"]?.intValue)
        #expect(!expected.isEmpty && prompt.count + expected.count <= window)
        #expect(Self.ints(reference["llama_cpp"]?["transformers_greedy"]) == expected)
        for path in ["models/\(name)", "models/\(name)-gguf/\(name)-f32.gguf"] {
            let model = try ModelRegistry.load(Fixture.path(path))
            let result = try generate(model, prompt: prompt, count: expected.count, options: .greedy)
            #expect(result.tokens == expected, "\(path)")
        }
    }

    @Test("sampling distributions equal transformers' warpers", arguments: models)
    func sampling(name: String) throws {
        try DecoderModelTests().sampling(name: name)
    }

    @Test("without the window, the same weights compute transformers' full attention", arguments: models)
    func fullAttention(name: String) throws {
        let checkpoint = try Checkpoint.open(Fixture.path("models/\(name)"))
        var architecture = try ArchitectureLoader.load(Fixture.path("models/\(name)"))
        architecture.text?.slidingWindow = nil
        architecture.text?.layerTypes = nil
        let model = try ModelRegistry.load(checkpoint: checkpoint, architecture: architecture)
        let expected = try NPY.read(Fixture.path("models/\(name)/full_attention_logits.npy"))
        let error = relativeL2(try model.logits(for: Self.ints(try Self.reference(name)["prompt"])), expected.values)
        #expect(error <= 1e-4, "relative L2 \(error)")
    }
}
