import Testing
import WeightArchitecture
import WeightBudget
import WeightFormats

/// Budgets of Gemma's interleaved sliding windows against llama.cpp's allocation
/// (`Fixtures/budget/llama_cpp_kv.json`, "interleaved": the two caches it logs for tiny models in
/// its gemma2 and gemma3 layouts), and Gemma 3's image tokens.
@Suite struct GemmaBudgetTests {
    struct Run: Sendable, CustomTestStringConvertible {
        let model: String, window: Int, context: Int, typeK: String, typeV: String, parallel: Int
        /// (MiB as llama.cpp prints it, cells, layers) of the full layers' cache, then the window layers'.
        let caches: [(mebibytes: String, cells: Int, layers: Int)]
        var testDescription: String { "\(model) \(context) x\(parallel) \(typeK)/\(typeV)" }
    }

    static func runs() throws -> [Run] {
        let models = try Fixture.json("budget/llama_cpp_kv.json")["interleaved"]?.arrayValue ?? []
        return models.flatMap { model in
            (model["runs"]?.arrayValue ?? []).map { run in
                Run(model: model["model"]?.stringValue ?? "", window: model["window"]?.intValue ?? 0, context: run["ctx"]?.intValue ?? 0,
                    typeK: run["type_k"]?.stringValue ?? "", typeV: run["type_v"]?.stringValue ?? "", parallel: run["parallel"]?.intValue ?? 0,
                    caches: (run["caches"]?.arrayValue ?? []).map {
                        ($0["mib"]?.stringValue ?? "", $0["cells"]?.intValue ?? 0, $0["layers"]?.intValue ?? 0)
                    })
            }
        }
    }

    @Test("llama_cpp_bytes: pad(min(n_ctx, window × n_seq + 512), 256) cells on the window layers, as llama.cpp allocates",
          arguments: try runs())
    func interleavedAllocation(run: Run) throws {
        #expect(run.caches.count == 2)
        var request = BudgetRequest()
        request.contexts = [run.context]
        request.cacheTypeK = try KVCacheType.named(run.typeK, argument: .cacheTypeK)
        request.cacheTypeV = try KVCacheType.named(run.typeV, argument: .cacheTypeV)
        request.parallel = run.parallel
        let budget = try ModelBudget.load(Fixture.path("budget/\(run.model)"), request: request)
        let text = try #require(budget.architecture.text)
        let types = try #require(text.layerTypes)
        #expect(text.slidingWindow == run.window)
        let windowLayers = types.filter { $0 == .sliding }.count
        #expect(run.caches.map(\.layers) == [types.count - windowLayers, windowLayers])
        let kv = try #require(budget.kvCache)
        let perLayer = kv.bytesPerToken / types.count
        #expect(perLayer * types.count == kv.bytesPerToken)
        // Each cache as llama.cpp logs it, and their sum.
        let full = perLayer * run.caches[0].layers * run.caches[0].cells
        let windowed = perLayer * run.caches[1].layers * run.caches[1].cells
        #expect(KVCacheTests.mebibytes(full) == run.caches[0].mebibytes)
        #expect(KVCacheTests.mebibytes(windowed) == run.caches[1].mebibytes)
        #expect(kv.contexts.first?.llamaCppBytes == full + windowed)
    }

    @Test("the recorded runs exercise the window: caches smaller than the context, several sequences, a padded window")
    func coverage() throws {
        let runs = try Self.runs()
        #expect(Set(runs.map(\.model)).count == 2)
        #expect(runs.contains { $0.caches.count == 2 && $0.caches[1].cells < $0.caches[0].cells && $0.parallel > 1 })
        #expect(runs.contains { $0.caches.count == 2 && $0.caches[1].cells < $0.caches[0].cells && $0.parallel == 1 })
        #expect(runs.contains { $0.window % 256 != 0 })
        #expect(runs.contains { $0.caches.first?.cells == $0.caches.last?.cells })
    }

    @Test("a family whose llama.cpp architecture ignores windows is allocated the full context on every layer")
    func windowsIgnored() throws {
        var request = BudgetRequest()
        request.contexts = [8192]
        let sliding = try ModelBudget.load(Fixture.path("budget/configs/qwen3-tiny-sliding"), request: request)
        let kv = try #require(sliding.kvCache)
        #expect(sliding.architecture.text?.layerTypes?.contains(.sliding) == true)
        #expect(kv.contexts.first?.llamaCppBytes == kv.bytesPerToken * 8192)
        #expect((kv.contexts.first?.bytes ?? 0) < kv.bytesPerToken * 8192)
    }

    @Test("Gemma 3's image tokens equal the shape of its projected image features")
    func imageTokens() throws {
        let reference = try #require(try Fixture.parameterReferences()["published"]?["gemma-3-4b"]?["image_tokens"]?.intValue)
        var request = BudgetRequest()
        request.images = 2
        let budget = try ModelBudget.load(Fixture.path("budget/configs/gemma-3-4b"), request: request)
        let vision = try #require(budget.vision)
        #expect(vision.tokensPerImage == reference)
        #expect(vision.tokens == 2 * reference)
        #expect(vision.kvBytes == vision.tokens * (budget.kvCache?.bytesPerToken ?? -1))
    }
}
