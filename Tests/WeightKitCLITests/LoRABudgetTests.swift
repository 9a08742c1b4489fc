import Foundation
import Testing
import WeightFormats

/// `budget MODEL --lora ADAPTER`: the adapter's own tensors counted, and the cost of applying it.
@Suite struct LoRABudgetTests {
    @Test("lora_adapter counts the adapter file's tensors", arguments: [("qwen2-plain", "qwen2-tiny"), ("qwen3-dora", "qwen3-tiny"),
                                                                       ("llama-pattern", "llama-tiny-gguf/llama-tiny-q8_0.gguf")])
    func adapterBudget(adapter: String, model: String) throws {
        let result = try CLI.run(["budget", CLI.fixture("models/" + model), "--lora", CLI.fixture("lora/" + adapter), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let budget = try #require(result.json?["lora_adapter"]?.objectValue)
        #expect(budget.keys == ["rank", "targets", "parameters", "bytes", "flops_per_token"])
        let file = try Checkpoint.open(CLI.fixture("lora/\(adapter)/adapter_model.safetensors"))
        let elements = file.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let magnitudes = file.tensors.filter { $0.name.hasSuffix("lora_magnitude_vector") }.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let ranks = file.tensors.filter { $0.name.hasSuffix("lora_A.weight") }.map { $0.shape[0] }
        #expect(budget["parameters"]?.intValue == elements)
        #expect(budget["bytes"]?.intValue == 4 * elements)
        #expect(budget["rank"]?.intValue == ranks.max())
        // A x and B (A x): two FLOPs per A and B element, one per DoRA magnitude.
        #expect(budget["flops_per_token"]?.intValue == 2 * (elements - magnitudes) + magnitudes)
        #expect(result.json?["lora"] == nil, "the analytic budget only with --lora-rank")
    }

    /// An embedding adapter: its saved table counts as a replaced tensor; applying it costs one
    /// looked-up row of B times A per token (2 FLOPs per lora_embedding_B element), the linear
    /// modules 2 per A and B element.
    @Test func embeddingAdapterBudget() throws {
        let result = try CLI.run(["budget", CLI.fixture("models/llama-tiny"), "--lora", CLI.fixture("lora/llama-embed"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let budget = try #require(result.json?["lora_adapter"]?.objectValue)
        let file = try Checkpoint.open(CLI.fixture("lora/llama-embed/adapter_model.safetensors"))
        func count(_ suffix: String) -> Int { file.tensors.filter { $0.name.hasSuffix(suffix) }.reduce(0) { $0 + $1.shape.reduce(1, *) } }
        #expect(count("lora_embedding_B") > 0 && count("base_layer.weight") > 0)
        #expect(budget["parameters"]?.intValue == file.tensors.reduce(0) { $0 + $1.shape.reduce(1, *) })
        #expect(budget["flops_per_token"]?.intValue == 2 * (count("lora_A.weight") + count("lora_B.weight")) + 2 * count("lora_embedding_B"))
        #expect(budget["targets"]?.arrayValue?.compactMap(\.stringValue) == ["embed_tokens", "k_proj", "q_proj"])
    }

    @Test func refusesAnAdapterForAnotherModel() throws {
        let result = try CLI.run(["budget", CLI.fixture("models/qwen3-tiny"), "--lora", CLI.fixture("lora/qwen2-plain"), "--json"])
        #expect(result.status == 1 && result.stderr.contains("but the base's"), "\(result.stderr)")
    }
}
