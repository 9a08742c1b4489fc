import Testing
import WeightArchitecture
import WeightBudget
import WeightFormats

/// Budgets of Mistral and Phi-3: transformers' parameter counts for the published Mistral-7B and
/// Phi-3-mini configurations and the tiny fixtures (ParameterReferenceTests' checks), and
/// llama.cpp's KV-cache allocation, which ignores both families' windows
/// (`Fixtures/budget/llama_cpp_kv.json`, `window_families`).
@Suite struct MistralPhi3BudgetTests {
    @Test("published configurations: transformers' total and components", arguments: ["mistral-7b", "phi-3-mini"])
    func published(name: String) throws {
        try ParameterReferenceTests().publishedConfiguration(name: name)
    }

    @Test("tiny fixtures from the configuration, the tensors and llama.cpp's GGUFs", arguments: ["mistral-tiny", "phi3-tiny"])
    func tiny(name: String) throws {
        try ParameterReferenceTests().tinyModel(name: name)
        try ParameterReferenceTests().ggufConversion(name: name)
    }

    @Test("the published configurations' windows: every layer slides")
    func publishedWindows() throws {
        for (name, window) in [("mistral-7b", 4096), ("phi-3-mini", 2047)] {
            let config = try Fixture.json("budget/configs/\(name)/config.json")
            #expect(config["sliding_window"]?.intValue == window)
            let budget = try ModelBudget.load(Fixture.path("budget/configs/\(name)/config.json"), request: BudgetRequest())
            let text = try #require(budget.architecture.text)
            #expect(text.slidingWindow == window)
            #expect(text.layerTypes == Array(repeating: .sliding, count: text.layerCount))
        }
    }

    struct Run: Sendable, CustomTestStringConvertible {
        let family: String, model: String, context: Int, typeK: String, typeV: String, parallel: Int, mebibytes: String, cells: Int
        var testDescription: String { "\(family) \(context) x\(parallel) \(typeK)/\(typeV)" }
    }

    static func runs() throws -> [Run] {
        let families = try #require(try Fixture.json("budget/llama_cpp_kv.json")["window_families"]?.objectValue)
        return families.flatMap { family, entry in
            (entry["runs"]?.arrayValue ?? []).map {
                Run(family: family, model: entry["model"]?.stringValue ?? "", context: $0["ctx"]?.intValue ?? 0,
                    typeK: $0["type_k"]?.stringValue ?? "", typeV: $0["type_v"]?.stringValue ?? "",
                    parallel: $0["parallel"]?.intValue ?? 0, mebibytes: $0["mib"]?.stringValue ?? "", cells: $0["cells"]?.intValue ?? 0)
            }
        }
    }

    @Test("the recorded runs cover both families, a padded context and parallel sequences")
    func coverage() throws {
        let runs = try Self.runs()
        #expect(Set(runs.map(\.family)) == ["mistral-tiny", "phi3-tiny"])
        #expect(runs.contains { $0.context % 256 != 0 } && runs.contains { $0.parallel > 1 })
    }

    @Test("llama_cpp_bytes: llama.cpp's logged allocation for the GGUF with the window key", arguments: try runs())
    func llamaCppAllocation(run: Run) throws {
        var request = BudgetRequest()
        request.contexts = [run.context]
        request.cacheTypeK = try KVCacheType.named(run.typeK, argument: .cacheTypeK)
        request.cacheTypeV = try KVCacheType.named(run.typeV, argument: .cacheTypeV)
        request.parallel = run.parallel
        let budget = try ModelBudget.load(Fixture.path(run.model), request: request)
        let text = try #require(budget.architecture.text)
        #expect(text.slidingWindow != nil && text.slidingWindow! < run.context)
        let kv = try #require(budget.kvCache)
        let entry = try #require(kv.contexts.first)
        #expect(KVCacheTests.mebibytes(entry.llamaCppBytes) == run.mebibytes)
        // One unified cache holds every sequence's cells.
        #expect(entry.llamaCppBytes == kv.bytesPerToken * run.cells)
        // WeightKit's own count keeps the window's last tokens of every layer.
        let window = try #require(text.slidingWindow)
        #expect(entry.bytes == kv.bytesPerToken * (window - 1) * run.parallel)
        // The Hugging Face configuration budgets the same cache.
        let config = try ModelBudget.load(Fixture.path("models/\(run.family)/config.json"), request: request)
        #expect(config.kvCache == kv)
    }
}
