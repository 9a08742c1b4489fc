import Testing
import WeightBudget
import WeightFormats

/// KV-cache sizes against what llama.cpp allocates for a Qwen2.5-0.5B-shaped GGUF
/// (`Fixtures/budget/llama_cpp_kv.json`: its `llama_kv_cache: size = ... MiB` log lines).
@Suite struct KVCacheTests {
    struct Run: Sendable, CustomTestStringConvertible {
        let context: Int, typeK: String, typeV: String, parallel: Int, mebibytes: String, cells: Int
        var testDescription: String { "\(context) x\(parallel) \(typeK)/\(typeV)" }
    }

    struct MissingReference: Error {}

    /// The recorded runs; a missing or empty list is an error, not zero cases.
    static func nonEmpty(_ runs: [JSONValue]?) throws -> [JSONValue] {
        guard let runs, !runs.isEmpty else { throw MissingReference() }
        return runs
    }

    static func runs() throws -> [Run] {
        try Self.nonEmpty(Fixture.json("budget/llama_cpp_kv.json")["runs"]?.arrayValue).map {
            Run(context: $0["ctx"]?.intValue ?? 0, typeK: $0["type_k"]?.stringValue ?? "", typeV: $0["type_v"]?.stringValue ?? "",
                parallel: $0["parallel"]?.intValue ?? 0, mebibytes: $0["mib"]?.stringValue ?? "", cells: $0["cells"]?.intValue ?? 0)
        }
    }

    /// llama.cpp prints `(float) bytes / (1024 * 1024)` with "%7.2f", which rounds an exact
    /// half (0.125 MiB) to even.
    static func mebibytes(_ bytes: Int) -> String {
        let value = Double(Float(bytes) / (1024 * 1024))
        let hundredths = Int((value * 100).rounded(.toNearestOrEven))
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100)." + (fraction.count == 1 ? "0" + fraction : fraction)
    }

    @Test("llama.cpp's allocation for the same GGUF, context, cache types and sequences", arguments: try runs())
    func llamaCppAllocation(run: Run) throws {
        var request = BudgetRequest()
        request.contexts = [run.context]
        request.cacheTypeK = try KVCacheType.named(run.typeK, argument: .cacheTypeK)
        request.cacheTypeV = try KVCacheType.named(run.typeV, argument: .cacheTypeV)
        request.parallel = run.parallel
        let gguf = try ModelBudget.load(Fixture.path("budget/qwen2.5-0.5b-shaped.gguf"), request: request)
        let config = try ModelBudget.load(Fixture.path("budget/configs/qwen2.5-0.5b"), request: request)
        let entry = try #require(gguf.kvCache?.contexts.first)
        #expect(Self.mebibytes(entry.llamaCppBytes) == run.mebibytes)
        // One unified cache holds every sequence's cells.
        #expect(entry.llamaCppBytes == gguf.kvCache!.bytesPerToken * run.cells)
        #expect(entry.bytes == gguf.kvCache!.bytesPerToken * run.context * run.parallel)
        #expect(config.kvCache == gguf.kvCache)
    }

    @Test("the recorded runs cover several types, a padded context and parallel sequences")
    func coverage() throws {
        let runs = try Self.runs()
        #expect(Set(runs.map(\.typeK)).count >= 3)
        #expect(runs.contains { $0.context % 256 != 0 })
        #expect(runs.contains { $0.parallel > 1 })
        // A run where padding the sequences together differs from padding each.
        #expect(runs.contains { $0.parallel > 1 && $0.cells < $0.parallel * ((($0.context + 255) / 256) * 256) })
    }

    @Test("sliding-window layers: the key and value elements transformers' cache holds, in f16")
    func slidingWindow() throws {
        let reference = try #require(try Fixture.parameterReferences()["sliding_cache"])
        let runs = try #require(reference["runs"]?.arrayValue)
        var request = BudgetRequest()
        request.contexts = runs.compactMap { $0["tokens"]?.intValue }
        let budget = try ModelBudget.load(Fixture.path("budget/" + (try #require(reference["config"]?.stringValue))), request: request)
        #expect(budget.architecture.text?.layerTypes?.contains(.sliding) == true)
        let contexts = try #require(budget.kvCache?.contexts)
        #expect(contexts.count == runs.count)
        for (entry, run) in zip(contexts, runs) {
            let elements = try #require(run["elements"]?.intValue)
            #expect(entry.bytes == elements * 2, "\(entry.context) tokens")
        }
    }

    @Test("a cache type whose block does not divide a row is refused, naming the layer")
    func unalignedRow() throws {
        var request = BudgetRequest()
        request.cacheTypeK = .q4_0
        // The expert LM stores rows of 8 heads x 64 values (whole q4_0 blocks); rows of 40 are not.
        let budget = try ModelBudget.load(Fixture.path("budget/configs/expert-lm-test"), request: request)
        #expect(budget.kvCache != nil)
        let text = try #require(budget.architecture.text)
        var odd = text
        odd.keyLength = 40
        odd.valueLength = 40
        odd.headCount = 1
        odd.kvHeadCount = 1
        #expect(throws: BudgetError.cacheRowNotBlockAligned(type: "q4_0", layer: 0, rowLength: 40, blockSize: 32)) {
            try KVCacheBudget(text: odd, typeK: .q4_0, typeV: .f16, contexts: [16], parallel: 1)
        }
    }
}
