import Testing
import WeightArchitecture
import WeightBudget
import WeightFormats

/// MHA, GQA and MQA from the published configurations' head counts, and the KV-cache share
/// they save against MHA, which the KV budget itself confirms.
@Suite struct AttentionKindTests {
    static func text(_ name: String) throws -> TextStack {
        try #require(try ModelBudget.load(Fixture.path("budget/configs/\(name)/config.json"), request: BudgetRequest()).architecture.text)
    }

    @Test("kinds from each configuration's num_attention_heads and num_key_value_heads",
          arguments: ["llama-2-7b", "qwen3-8b", "mistral-7b", "phi-3-mini", "qwen2.5-0.5b", "qwen3-30b-a3b"])
    func kind(name: String) throws {
        let config = try Fixture.json("budget/configs/\(name)/config.json")
        let heads = try #require(config["num_attention_heads"]?.intValue)
        let kvHeads = try #require(config["num_key_value_heads"]?.intValue)
        let attention = AttentionKind(try Self.text(name))
        #expect(attention.kind == (kvHeads == heads ? .mha : kvHeads == 1 ? .mqa : .gqa))
        #expect(attention.queryHeadsPerKVHead == heads / kvHeads)
        #expect(attention.kvSavingVersusMHA == 1 - Double(kvHeads) / Double(heads))
        #expect(attention.label == (kvHeads == heads ? "MHA" : "GQA \(heads / kvHeads):1"))
    }

    @Test("the saving is the KV cache MHA would need at the same head sizes, less the model's")
    func savingMatchesTheCache() throws {
        var text = try Self.text("qwen3-8b")
        let gqa = try KVCacheBudget(text: text, typeK: .f16, typeV: .f16, contexts: [4096], parallel: 1)
        text.kvHeadCount = text.headCount
        let mha = try KVCacheBudget(text: text, typeK: .f16, typeV: .f16, contexts: [4096], parallel: 1)
        let saving = AttentionKind(try Self.text("qwen3-8b")).kvSavingVersusMHA
        #expect(Double(gqa.contexts[0].bytes) == Double(mha.contexts[0].bytes) * (1 - saving))
    }

    @Test("one KV head is MQA; per-layer counts are GQA without one ratio")
    func mqaAndPerLayer() throws {
        var text = try Self.text("llama-2-7b")
        text.kvHeadCount = 1
        #expect(AttentionKind(text).kind == .mqa && AttentionKind(text).label == "MQA")
        text.kvHeadCountPerLayer = (0..<text.layerCount).map { $0 % 2 == 0 ? 8 : 4 }
        let mixed = AttentionKind(text)
        #expect(mixed.kind == .gqa && mixed.queryHeadsPerKVHead == nil)
        #expect(mixed.kvSavingVersusMHA == 1 - 6.0 / Double(text.headCount))
    }
}
