import Testing
import WeightCompute
import WeightFormats
@testable import WeightModels

/// Seed 002's expert LM against its PyTorch module (Fixtures/generators/expert_models.py).
@Suite struct ExpertModelTests {
    static let experts = ["expert-small", "expert-medium", "expert-other"]

    @Test("logits and greedy tokens match the PyTorch module", arguments: experts)
    func logitsAndGreedy(name: String) throws {
        let reference = try Fixture.json("experts/\(name)/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let model = try ModelRegistry.load(Fixture.path("experts/\(name)"))
        let expected = try NPY.read(Fixture.path("experts/\(name)/logits.npy"))
        let logits = try model.logits(for: prompt)
        #expect(relativeL2(logits, expected.values) <= 1e-4)
        let greedy = try generate(model, prompt: prompt, count: 10, options: .greedy)
        #expect(try greedy.tokens == requiredInts(reference["greedy"], "greedy"))
    }

    @Test("sampled tokens equal the PyTorch sampler's given the same uniform draws", arguments: experts)
    func sampling(name: String) throws {
        let reference = try Fixture.json("experts/\(name)/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let model = try ModelRegistry.load(Fixture.path("experts/\(name)"))
        for case_ in try requiredArray(reference["sampled"], "sampled") {
            let options = SamplingOptions(temperature: Float(case_["temperature"]!.doubleValue!),
                                          topK: case_["top_k"]!.intValue!, topP: Float(case_["top_p"]!.doubleValue!))
            let draws = try requiredDoubles(case_["draws"], "draws")
            let result = try generate(model, prompt: prompt, count: draws.count, options: options, randomness: .draws(draws))
            #expect(try result.tokens == requiredInts(case_["tokens"], "tokens"), "\(name) \(options)")
        }
    }

    @Test("a stored positional table that is not the sinusoidal one is refused")
    func badPositions() throws {
        #expect(throws: ModelError.self) { try ModelRegistry.load(Fixture.path("experts/expert-bad-positions")) }
    }

    @Test("the router picks the reference's experts and weights and mixes like it")
    func router() throws {
        let reference = try Fixture.json("experts/router/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let router = try ExpertRouter(directory: Fixture.path("experts/router"))
        let (choices, tokens) = try router.generate(prompt: prompt, count: 10, options: .greedy)
        let expected = try requiredArray(reference["experts"], "experts")
        #expect(choices.count == expected.count)
        #expect(choices.map(\.name) == expected.compactMap { $0["name"]?.stringValue })
        for (choice, entry) in zip(choices, expected) {
            #expect(abs(Double(choice.weight) - entry["weight"]!.doubleValue!) <= 1e-5)
        }
        #expect(try tokens == requiredInts(reference["tokens"], "tokens"))
    }
}
