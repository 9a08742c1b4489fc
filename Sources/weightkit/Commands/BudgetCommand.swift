import ArgumentParser
import WeightAdapters
import WeightArchitecture
import WeightBudget
import WeightConversion
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
            --lora ADAPTER adds "lora_adapter": {"rank", "targets", "parameters", "bytes", \
            "flops_per_token"}: the real adapter (PEFT, MLX or adapter GGUF, checked against the \
            model's shapes), its float32 bytes as run --lora holds them and the FLOPs per token of \
            applying it unmerged.
            --type MIX gives the bytes of the file `weightkit quantize` (and llama-quantize) \
            would write: the same per-tensor type choices, metadata and layout (a .gguf, or \
            anything `convert` reads). MIX is spelled as in `convert --type`: a llama-quantize mix \
            (q4_k_m, q5_k_s, iq4_xs, iq2_xs, q2_k ...) or one type for every weight (q4_k, q8_0: \
            as llama-quantize --pure). No importance matrix is assumed unless --imatrix gives \
            one (it changes some choices); mixes that require one (iq2_xs, iq1_s ...) need it. \
            --memory then counts those bytes; --json adds "weights": {"mix": {"name", "bytes", \
            "by_component", "by_type"}}.
              weightkit budget Qwen3-8B --type q4_k_m --ctx 32768 --memory 8GiB

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

    @Option(name: .customLong("lora"), help: "A LoRA adapter (PEFT or MLX directory, adapter GGUF): its parameters and the cost of applying it unmerged.")
    var loraAdapter: String?

    @Option(help: "Images in the prompt (vision models).")
    var images: Int = 0

    @Option(help: "Video frames in the prompt (vision models).")
    var frames: Int = 0

    @Option(help: ArgumentHelp("The file a quantisation mix writes: q4_k_m, iq4_xs, ... or one type (q4_k: every weight Q4_K).", valueName: "MIX"))
    var type: String?

    @Option(help: "Importance matrix the mix is planned with (llama-imatrix's GGUF or .dat).")
    var imatrix: String?

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
        if type != nil && paths.count > 1 { throw ValidationError("--type budgets one model at a time") }
        if imatrix != nil && type == nil { throw ValidationError("--imatrix needs --type") }
        guard parallel > 0 else { throw ValidationError("--parallel: '\(parallel)' must be a positive number of sequences") }
        if loraAdapter != nil && paths.count > 1 { throw ValidationError("--lora budgets an adapter on one model") }
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
            var request = try self.request()
            let outputs = OutputTargets(force: force, inputs: [path, imatrix, loraAdapter])
            try outputs.check(["--plot": plot])
            let mix = try type.map { try MixBudget.load(model: path, type: $0, imatrix: imatrix) }
            request.weightBytes = mix?.bytes
            request.weightTensors = mix?.tensors
            let budget = try ModelBudget.load(path, request: request)
            let adapter = try loraAdapter.map { try Self.adapterBudget($0, model: path) }
            if let plot {
                try BudgetPlot(budget: budget, title: PathName.lastComponent(of: path)).write(
                    to: plot, overwrite: outputs.force, inputs: outputs.inputs)
            }
            if json {
                var root = BudgetReport.json(budget)
                if let adapter {
                    root["lora_adapter"] = .object(JSONObject([
                        ("rank", .int(adapter.rank)), ("targets", .array(adapter.targets.map { .string($0) })),
                        ("parameters", .int(adapter.parameters)), ("bytes", .int(adapter.bytes)),
                        ("flops_per_token", .int(adapter.flopsPerToken)),
                    ]))
                }
                if let mix, case .object(var weights)? = root["weights"] {
                    weights["mix"] = mix.json
                    root["weights"] = .object(weights)
                }
                Terminal.writeOut(JSONWriter.string(.object(root), indent: 1) + "\n")
            } else {
                var output = OutputBuffer()
                BudgetReport.writeText(budget, path: path, mix: mix, into: &output)
                if let adapter, let name = loraAdapter {
                    output.line("")
                    output.line("LoRA adapter \(name): rank \(adapter.rank) on \(adapter.targets.joined(separator: ","))")
                    output.line("  parameters \(Formatting.grouped(adapter.parameters)), \(Formatting.bytes(adapter.bytes)) as float32, "
                                + "\(Formatting.grouped(adapter.flopsPerToken)) FLOPs per token applied unmerged")
                }
                if let plot { output.line("chart written to \(plot)") }
                output.flush()
            }
        }
    }

    /// The adapter at `path`, checked against the shapes of the model at `model`.
    static func adapterBudget(_ path: String, model: String) throws -> AdapterBudget {
        let adapter = try LoRAAdapter.open(path)
        let architecture = try ArchitectureLoader.load(model)
        let family = try ModelFamilies.family(of: architecture)
        let isGGUF = PathName.fileExtension(of: model) == "gguf"
        _ = try LoRAPlan(adapters: [ScaledAdapter(adapter)], schema: family.schema(architecture), baseIsGGUF: isGGUF, model: family.name) { _ in nil }
        return AdapterBudget(adapter)
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
