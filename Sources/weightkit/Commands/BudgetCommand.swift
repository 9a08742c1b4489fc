import ArgumentParser
import WeightBudget
import WeightFormats

struct BudgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Parameters, weight memory, KV cache, FLOPs and training budgets of a model.",
        discussion: """
            PATH: a .gguf or .safetensors file, a model directory, or a bare config.json / \
            params.json (a directory holding only one counts). Counts are exact from the tensors \
            when weights are present, from the configuration otherwise. Several paths are \
            compared side by side: one table with a column per model, the same options for \
            each, and without --ctx the contexts of all of them (4096 and each trained context).

            Sizes: K, M, G, T are powers of 1000; KiB, MiB, GiB, TiB powers of 1024.

            --json prints one object (a stable contract; keys are added, never renamed):
              {"architecture": {...}, "parameters": {"total", "active", "non_embedding",
               "by_component"}, "weights": {"bytes", "by_dtype", "as_type", "as_dtype"},
               "kv_cache": {"type_k", "type_v", "parallel", "bytes_per_token", "contexts":
               [{"ctx", "bytes", "llama_cpp_bytes"}]}, "flops_per_token": {"prefill",
               "prefill_ctx", "decode": [{"ctx", "flops"}]}, "lora": {...}, "vision": {...},
               "fits": {...}, "decode_ceiling_tokens_per_second": x}
            For several paths, --json prints an array of these objects, each with "path" (as \
            given) first, and --plot one SVG comparing them.
            """
    )

    @Argument(help: "A .gguf, .safetensors, model directory, config.json or params.json; several are compared side by side.")
    var paths: [String] = []

    @Option(help: "Context lengths, comma-separated (default: 4096 and the trained context).")
    var ctx: String?

    @Option(name: .customLong("kv-type"), help: "KV-cache type for keys and values: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl.")
    var kvType: String = "f16"

    @Option(name: .customLong("kv-type-k"), help: "KV-cache type of the keys (overrides --kv-type).")
    var kvTypeK: String?

    @Option(name: .customLong("kv-type-v"), help: "KV-cache type of the values (overrides --kv-type).")
    var kvTypeV: String?

    @Option(help: "Sequences decoded in parallel, each with the full context.")
    var parallel: Int = 1

    @Option(name: .customLong("lora-rank"), help: "LoRA rank: report trainable parameters, NF4 base and optimizer bytes.")
    var loraRank: Int?

    @Option(name: .customLong("lora-targets"), help: "LoRA target modules among q, k, v, o, gate, up, down.")
    var loraTargets: String = "q,k,v,o"

    @Option(help: "Images in the prompt (vision models).")
    var images: Int = 0

    @Option(help: "Video frames in the prompt (vision models).")
    var frames: Int = 0

    @Option(help: "Memory to fit into, e.g. 16GiB or 24G.")
    var memory: String?

    @Option(help: "Memory bandwidth in GB/s, for the decode ceiling in tokens per second.")
    var bandwidth: Double?

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    @Option(help: "Write an SVG chart: KV cache against context, parameters by component.")
    var plot: String?

    @Flag(help: "Replace an existing --plot file (never the model itself).")
    var force = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("Missing expected argument '<paths> ...': a model to budget") }
        guard parallel > 0 else { throw ValidationError("--parallel: '\(parallel)' must be a positive number of sequences") }
        if let loraRank, loraRank <= 0 { throw ValidationError("--lora-rank: '\(loraRank)' must be a positive rank") }
        guard images >= 0 else { throw ValidationError("--images: '\(images)' must not be negative") }
        guard frames >= 0 else { throw ValidationError("--frames: '\(frames)' must not be negative") }
        if let bandwidth, !(bandwidth > 0 && bandwidth.isFinite) {
            throw ValidationError("--bandwidth: '\(bandwidth)' must be a positive number of GB/s")
        }
    }

    func request() throws -> BudgetRequest {
        var request = BudgetRequest()
        if let ctx { request.contexts = try BudgetRequest.parseContexts(ctx) }
        request.cacheTypeK = try KVCacheType.named(kvTypeK ?? kvType, argument: kvTypeK == nil ? .kvTypeFlag : .cacheTypeK)
        request.cacheTypeV = try KVCacheType.named(kvTypeV ?? kvType, argument: kvTypeV == nil ? .kvTypeFlag : .cacheTypeV)
        request.parallel = parallel
        request.loraRank = loraRank
        if loraRank != nil { request.loraTargets = try LoRABudget.parseTargets(loraTargets) }
        request.images = images
        request.frames = frames
        if let memory { request.memory = try ByteSize.parse(memory, argument: .memory) }
        request.bandwidth = bandwidth
        return request
    }

    func run() throws {
        guard paths.count == 1 else { return try runSideBySide() }
        let path = paths[0]
        try reportingErrors {
            let request = try self.request()
            let outputs = OutputTargets(force: force, inputs: [path])
            try outputs.check(["--plot": plot])
            let budget = try ModelBudget.load(path, request: request)
            if let plot {
                try BudgetPlot(budget: budget, title: PathName.lastComponent(of: path)).write(
                    to: plot, overwrite: outputs.force, inputs: outputs.inputs)
            }
            if json {
                Terminal.writeOut(JSONWriter.string(.object(BudgetReport.json(budget)), indent: 1) + "\n")
            } else {
                var output = OutputBuffer()
                BudgetReport.writeText(budget, path: path, into: &output)
                if let plot { output.line("chart written to \(plot)") }
                output.flush()
            }
        }
    }

    /// Several paths: every budget with the same request; without --ctx, every model at the
    /// contexts any of them reports by default.
    func runSideBySide() throws {
        try reportingErrors {
            var request = try self.request()
            // Errors about one model's options name its path (the others may take them).
            func load(_ path: String) throws -> ModelBudget {
                do {
                    return try ModelBudget.load(path, request: request)
                } catch let error as BudgetError {
                    throw CommandFailure("\(path): \(error.description(spelling: CommandLineSpelling.flag))")
                }
            }
            var budgets = try paths.map(load)
            let union = Array(Set(budgets.flatMap(\.contexts))).sorted()
            if ctx == nil, budgets.contains(where: { $0.contexts != union }) {
                request.contexts = union
                budgets = try paths.map(load)
            }
            let entries = Array(zip(paths, budgets)).map { (path: $0.0, budget: $0.1) }
            if let plot {
                try BudgetComparisonPlot(Array(zip(BudgetReport.titles(paths), budgets)).map { (title: $0.0, budget: $0.1) }).write(to: plot)
            }
            if json {
                Terminal.writeOut(JSONWriter.string(BudgetReport.json(entries), indent: 1) + "\n")
            } else {
                var output = OutputBuffer()
                BudgetReport.writeComparison(entries, into: &output)
                if let plot { output.line("chart written to \(plot)") }
                output.flush()
            }
        }
    }
}
