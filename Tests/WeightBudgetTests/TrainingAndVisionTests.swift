import Testing
@testable import WeightBudget
import WeightFormats

/// LoRA trainable parameters against transformers' module shapes, and vision tokens against
/// LLaVA-NeXT-Video's own features.
@Suite struct TrainingAndVisionTests {
    @Test("LoRA trainable parameters equal r x (in + out) over transformers' matching nn.Linear modules",
          arguments: ["qwen3-8b", "llama-2-7b", "qwen2.5-0.5b"])
    func loraTrainable(name: String) throws {
        let cases = try #require(try Fixture.parameterReferences()["published"]?[name]?["lora"]?.arrayValue)
        #expect(!cases.isEmpty)
        for entry in cases {
            var request = BudgetRequest()
            request.loraRank = entry["rank"]?.intValue
            request.loraTargets = try LoRABudget.parseTargets((entry["targets"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ","))
            let budget = try ModelBudget.load(Fixture.path("budget/configs/\(name)"), request: request)
            let lora = try #require(budget.lora)
            #expect(lora.trainable == entry["trainable"]?.intValue)
            #expect(lora.optimizerBytes == lora.trainable * LoRABudget.optimizerBytesPerParameter)
            // NF4 keeps embeddings and the head in 16 bits and stores linear layers in ~4.13 bits.
            #expect(lora.nf4BaseBytes < budget.parameters.total * 2)
            #expect(lora.nf4BaseBytes > budget.parameters.total / 2)
        }
    }

    @Test("a gate target on a two-layer FFN is an error naming the target")
    func loraMissingGate() throws {
        var request = BudgetRequest()
        request.loraRank = 8
        request.loraTargets = [.gate]
        #expect(throws: BudgetError.loRATargetMissing(target: "gate", modelType: "expert_lm")) {
            try ModelBudget.load(Fixture.path("budget/configs/expert-lm-test"), request: request)
        }
        #expect(throws: BudgetError.self) { try LoRABudget.parseTargets("q,x") }
    }

    @Test("video tokens per frame equal the shape of LLaVA-NeXT-Video's video features")
    func videoTokens() throws {
        let reference = try #require(try Fixture.parameterReferences()["published"]?["llava-next-video-7b"]?["video_tokens_per_frame"]?.intValue)
        var request = BudgetRequest()
        request.frames = 8
        request.images = 1
        let budget = try ModelBudget.load(Fixture.path("budget/configs/llava-next-video-7b"), request: request)
        let vision = try #require(budget.vision)
        #expect(vision.tokensPerFrame == reference)
        let tower = try #require(budget.architecture.vision)
        #expect(vision.tokensPerImage == tower.patchCount)
        #expect(vision.tokens == 8 * reference + tower.patchCount)
        #expect(vision.kvBytes == vision.tokens * (budget.kvCache?.bytesPerToken ?? -1))
    }

    @Test("an mmproj GGUF splits into tower and projector; its projector equals the LLaVA checkpoint's")
    func mmprojComponents() throws {
        let mmproj = try ModelBudget.load(Fixture.path("vision/llava-tiny-gguf/mmproj-f32.gguf"), request: BudgetRequest())
        let llava = try ModelBudget.load(Fixture.path("vision/llava-tiny"), request: BudgetRequest())
        let projector = mmproj.parameters.count(of: .projector)
        #expect(projector > 0 && projector == llava.parameters.count(of: .projector))
        #expect(mmproj.parameters.count(of: .visionTower) + projector == mmproj.parameters.total)
    }

    @Test("NF4 bytes of a linear layer equal what bitsandbytes stores (codes, absmax, scales, map, offset)")
    func nf4MatchesBitsAndBytes() throws {
        let cases = try #require(try Fixture.json("budget/nf4.json")["cases"]?.arrayValue)
        #expect(!cases.isEmpty)
        for entry in cases {
            let shape = (entry["shape"]?.arrayValue ?? []).compactMap(\.intValue)
            let group = WeightGroup(name: "model.layers.0.mlp.up_proj.weight", component: .mlp, shape: shape)
            #expect(LoRABudget.nf4Bytes(of: group) == entry["bytes"]?.intValue, "\(shape)")
        }
    }
}

/// Errors of the budget API name its arguments as the API does (the command line maps them).
@Suite struct BudgetArgumentErrorTests {
    @Test("an error about a request's field names the field, not a command-line flag")
    func namesTheField() throws {
        var request = BudgetRequest()
        request.parallel = 1 << 30
        let error = try #require(throws: BudgetError.self) {
            try ModelBudget.load(Fixture.path("budget/configs/qwen3-8b"), request: request)
        }
        #expect(error.description.hasPrefix("BudgetRequest.parallel: \(1 << 30) is more than"))
        #expect(!error.description.contains("--"))
        #expect(error.description(spelling: { $0 == .parallel ? "-np" : $0.name }).hasPrefix("-np: "))
    }
}
