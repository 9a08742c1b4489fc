import Testing
import WeightCompute
import WeightFormats
import WeightArchitecture
@testable import WeightModels

/// Tiny transformers decoders (Fixtures/generators/decoder_models.py): logits and greedy tokens
/// against transformers, from the Hugging Face directory and from llama.cpp's GGUF copies, in
/// every instruction-set tier the processor has.
@Suite struct DecoderModelTests {
    static let models = ["qwen2-tiny", "qwen3-tiny", "llama-tiny", "qwen3moe-tiny"]

    /// Relative L2 bounds on full-sequence logits, by storage type of the weights (Q8_0: with
    /// activations quantised to 8 bits, the default, and with `.exact` activations; the weights'
    /// own rounding dominates both on these tiny models: measured 1.7e-2 to 2.6e-2 and 1.1e-2
    /// to 1.8e-2).
    static let tolerance: [String: Double] = ["hf": 1e-4, "f32": 1e-4, "f16": 5e-3, "q8_0": 3e-2, "q8_0 exact": 2.5e-2]

    static func check(_ path: String, reference directory: String, tolerance: Double, greedy: Bool,
                      kernels: Kernels = .best, activations: ActivationPrecision = .quantized) throws {
        let reference = try Fixture.json("models/\(directory)/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let expected = try NPY.read(Fixture.path("models/\(directory)/logits.npy"))
        let model = try ModelRegistry.load(path, context: ComputeContext(kernels: kernels, activations: activations))
        let logits = try model.logits(for: prompt)
        #expect(expected.shape == [prompt.count, model.vocabularySize])
        let error = relativeL2(logits, expected.values)
        #expect(error <= tolerance, "\(path) \(kernels) \(activations): relative L2 \(error)")
        if greedy {
            let result = try generate(model, prompt: prompt, count: 8, options: .greedy)
            #expect(result.tokens == reference["greedy"]?.arrayValue?.compactMap(\.intValue), "\(path) \(kernels)")
        }
    }

    @Test("Hugging Face directory: logits and greedy tokens match transformers", arguments: models + ["qwen3moe-dense-tiny", "qwen3moe-tiny-4x", "qwen3moe-dense-tiny-4x"], Kernels.allSupported)
    func huggingFace(name: String, kernels: Kernels) throws {
        let reference = name.hasSuffix("-4x") ? String(name.dropLast(3)) : name
        try Self.check(Fixture.path("models/\(name)"), reference: reference, tolerance: Self.tolerance["hf"]!, greedy: true,
                       kernels: kernels)
    }

    @Test("GGUF written by llama.cpp's converter", arguments: models, Kernels.allSupported)
    func gguf(name: String, kernels: Kernels) throws {
        for type in ["f32", "f16", "q8_0"] {
            try Self.check(Fixture.path("models/\(name)-gguf/\(name)-\(type).gguf"), reference: name,
                           tolerance: Self.tolerance[type]!, greedy: type == "f32", kernels: kernels)
        }
        try Self.check(Fixture.path("models/\(name)-gguf/\(name)-q8_0.gguf"), reference: name,
                       tolerance: Self.tolerance["q8_0 exact"]!, greedy: false, kernels: kernels, activations: .exact)
    }

    /// A llama-quantize Q4_K_M file (Q4_K and Q6_K tensors; Fixtures/models/integer-products,
    /// by integer_products.py) against transformers on the same dequantised weights. With exact
    /// activations only float rounding separates the two (measured 8.8e-7); with activations
    /// quantised to 8 bits (the default, as llama.cpp) their rounding does (measured 2.3e-2).
    @Test("Q4_K_M GGUF against transformers on its dequantised weights, in both activation modes", arguments: Kernels.allSupported)
    func integerProducts(kernels: Kernels) throws {
        let reference = try Fixture.json("models/integer-products/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let path = try #require(reference["path"]?.stringValue), logitsFile = try #require(reference["logits"]?.stringValue)
        let expected = try NPY.read(Fixture.path("models/integer-products/\(logitsFile)"))
        for (activations, tolerance) in [(ActivationPrecision.exact, 1e-5), (.quantized, 4e-2)] {
            let model = try ModelRegistry.load(Fixture.path(path), context: ComputeContext(kernels: kernels, activations: activations))
            let logits = try model.logits(for: prompt)
            #expect(expected.shape == [prompt.count, model.vocabularySize])
            let error = relativeL2(logits, expected.values)
            #expect(error <= tolerance, "\(kernels) \(activations): relative L2 \(error)")
        }
    }

    @Test("sampling distributions equal transformers' warpers", arguments: models)
    func sampling(name: String) throws {
        let reference = try Fixture.json("models/\(name)/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let model = try ModelRegistry.load(Fixture.path("models/\(name)"))
        let cache = try model.makeCache(capacity: prompt.count)
        let last = try model.forward(prompt, cache: cache, logits: .last)
        for case_ in try #require(reference["sampling"]?.arrayValue) {
            let options = SamplingOptions(
                temperature: Float(case_["temperature"]!.doubleValue!), topK: case_["top_k"]!.intValue!,
                topP: Float(case_["top_p"]!.doubleValue!))
            let expected = try requiredDoubles(case_["probabilities"], "probabilities")
            let ours = last.withUnsafeBufferPointer { samplingDistribution(logits: $0.baseAddress!, count: $0.count, options: options) }
            #expect(ours.count == expected.count, "\(name) \(options): \(ours.count) probabilities, \(expected.count) expected")
            let worst = zip(ours, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(name) \(options): max difference \(worst)")
        }
    }

    @Test("strict binding names every missing and unexpected tensor")
    func strictBinding() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("models/qwen3-tiny"))
        var architecture = try WeightArchitecture.ArchitectureLoader.load(Fixture.path("models/qwen3-tiny"))
        architecture.text?.layerCount = 3
        do {
            _ = try ModelRegistry.load(checkpoint: checkpoint, architecture: architecture)
            Issue.record("binding should fail")
        } catch let error as ModelError {
            guard case .binding(_, let missing, _, _) = error else { Issue.record("\(error)"); return }
            #expect(missing.contains("model.layers.2.self_attn.q_proj.weight"))
            #expect(missing.contains("model.layers.2.mlp.down_proj.weight"))
        }
        architecture.text?.layerCount = 1
        do {
            _ = try ModelRegistry.load(checkpoint: checkpoint, architecture: architecture)
            Issue.record("binding should fail")
        } catch let error as ModelError {
            guard case .binding(_, _, let unexpected, _) = error else { Issue.record("\(error)"); return }
            #expect(unexpected.contains("model.layers.1.self_attn.q_proj.weight"))
        }
    }
}
