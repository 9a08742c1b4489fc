import Testing
import WeightBudget
import WeightFormats

/// FLOPs per token against torch's FlopCounterMode over transformers' forward pass.
@Suite struct FlopsTests {
    @Test("a forward pass of T tokens with full attention costs T x the decode FLOPs at position T",
          arguments: ["llama-tiny", "qwen2-tiny", "qwen3-tiny"])
    func forwardPass(name: String) throws {
        let runs = try #require(try Fixture.parameterReferences()["tiny"]?[name]?["forward_flops"]?.arrayValue)
        #expect(!runs.isEmpty)
        for run in runs {
            let tokens = try #require(run["tokens"]?.intValue)
            var request = BudgetRequest()
            request.contexts = [tokens]
            let budget = try ModelBudget.load(Fixture.path("models/\(name)"), request: request)
            let decode = try #require(budget.flops?.decode.first)
            #expect(decode.flops * tokens == run["flops"]?.intValue, "\(tokens) tokens")
        }
    }

    @Test("the configuration and the tensors give the same FLOPs")
    func sourcesAgree() throws {
        var request = BudgetRequest()
        request.contexts = [64, 128]
        for name in ["qwen3-tiny", "qwen3moe-tiny", "qwen2-tiny"] {
            let fromConfig = try ModelBudget.load(Fixture.path("models/\(name)/config.json"), request: request)
            let fromTensors = try ModelBudget.load(Fixture.path("models/\(name)"), request: request)
            #expect(fromConfig.flops == fromTensors.flops, "\(name)")
        }
    }
}
