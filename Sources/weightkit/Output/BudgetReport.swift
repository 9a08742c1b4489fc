import WeightArchitecture
import WeightBudget
import WeightFormats

/// The two renderings of `budget`.
enum BudgetReport {
    // MARK: JSON

    static func json(_ budget: ModelBudget) -> JSONObject {
        var root = JSONObject()
        root["architecture"] = .object(architecture(budget.architecture))
        let p = budget.parameters
        root["parameters"] = .object(JSONObject([
            ("total", .int(p.total)), ("active", .int(p.active)), ("non_embedding", .int(p.nonEmbedding)),
            ("by_component", .object(JSONObject(p.byComponent.map { ($0.component.name, .int($0.count)) }))),
            ("source", .string(p.fromTensors ? "tensors" : "configuration")),
        ]))
        let w = budget.weights
        root["weights"] = .object(JSONObject([
            ("bytes", .int(w.bytes)),
            ("by_dtype", .object(JSONObject(w.byDType.map { ($0.dtype, .int($0.bytes)) }))),
            ("as_type", .object(JSONObject(w.asType.map { ($0.type, .int($0.bytes)) }))),
            ("as_dtype", .object(JSONObject(plainSizes(p.total).map { ($0.name, .int($0.bytes)) }))),
        ]))
        if let kv = budget.kvCache {
            root["kv_cache"] = .object(JSONObject([
                ("type_k", .string(kv.typeK.name.lowercased())), ("type_v", .string(kv.typeV.name.lowercased())),
                ("parallel", .int(kv.parallel)), ("bytes_per_token", .int(kv.bytesPerToken)),
                ("contexts", .array(kv.contexts.map {
                    .object(JSONObject([("ctx", .int($0.context)), ("bytes", .int($0.bytes)), ("llama_cpp_bytes", .int($0.llamaCppBytes))]))
                })),
            ]))
        }
        if let flops = budget.flops {
            root["flops_per_token"] = .object(JSONObject([
                ("prefill", .int(flops.prefill)), ("prefill_ctx", .int(flops.prefillContext)),
                ("decode", .array(flops.decode.map { .object(JSONObject([("ctx", .int($0.context)), ("flops", .int($0.flops))])) })),
            ]))
        }
        if let lora = budget.lora {
            root["lora"] = .object(JSONObject([
                ("rank", .int(lora.rank)), ("targets", .array(lora.targets.map { .string($0.rawValue) })),
                ("trainable", .int(lora.trainable)), ("nf4_base_bytes", .int(lora.nf4BaseBytes)),
                ("optimizer_bytes", .int(lora.optimizerBytes)),
            ]))
        }
        if let vision = budget.vision {
            root["vision"] = .object(JSONObject([
                ("tokens_per_image", .int(vision.tokensPerImage)), ("tokens_per_frame", .int(vision.tokensPerFrame)),
                ("images", .int(vision.images)), ("frames", .int(vision.frames)),
                ("tokens", .int(vision.tokens)), ("kv_bytes", .int(vision.kvBytes)),
            ]))
        }
        if let fit = budget.fit {
            root["fits"] = .object(JSONObject([
                ("memory", .int(fit.memory)), ("required", .int(fit.required)), ("fits", .bool(fit.fits)), ("max_ctx", .int(fit.maxContext)),
            ]))
        }
        if let ceiling = budget.decodeCeiling {
            root["decode_ceiling_tokens_per_second"] = .double(ceiling)
        }
        return root
    }

    /// Parameters times a plain element size: the "memory in FP32/FP16/INT8" of model cards.
    static func plainSizes(_ parameters: Int) -> [(name: String, bytes: Int)] {
        [("fp32", parameters * 4), ("fp16", parameters * 2), ("bf16", parameters * 2), ("int8", parameters)]
    }

    static func architecture(_ architecture: ModelArchitecture) -> JSONObject {
        var object = JSONObject()
        object["model_type"] = .string(architecture.modelType)
        switch architecture.origin {
        case .huggingFaceConfig(let path): object["source"] = .string("config.json"); object["file"] = .string(path)
        case .ggufMetadata(let path): object["source"] = .string("gguf"); object["file"] = .string(path)
        case .metaParams(let path): object["source"] = .string("params.json"); object["file"] = .string(path)
        }
        if let dtype = architecture.storageDType { object["dtype"] = .string(dtype) }
        if let text = architecture.text {
            var t = JSONObject([
                ("vocab_size", .int(text.vocabularySize)), ("hidden_size", .int(text.hiddenSize)), ("layers", .int(text.layerCount)),
                ("heads", .int(text.headCount)), ("kv_heads", .int(text.kvHeadCount)), ("head_dim_k", .int(text.keyLength)),
                ("head_dim_v", .int(text.valueLength)), ("ffn", .int(text.feedForwardLength)),
                ("context_length", .int(text.contextLength)), ("tied_embeddings", .bool(text.tiedEmbeddings)),
                ("causal", .bool(text.causal)),
            ])
            if let perLayer = text.kvHeadCountPerLayer { t["kv_heads_per_layer"] = .array(perLayer.map { .int($0) }) }
            if let experts = text.experts {
                t["experts"] = .object(JSONObject([
                    ("count", .int(experts.expertCount)), ("used", .int(experts.usedExpertCount)), ("ffn", .int(experts.feedForwardLength)),
                ]))
            }
            let attention = AttentionKind(text)
            t["attention"] = .object(JSONObject([
                ("kind", .string(attention.kind.rawValue)),
                ("query_heads_per_kv_head", attention.queryHeadsPerKVHead.map { .int($0) } ?? .null),
                ("kv_saving_vs_mha", .double(attention.kvSavingVersusMHA)),
            ]))
            if let window = text.slidingWindow { t["sliding_window"] = .int(window) }
            if let types = text.layerTypes { t["sliding_layers"] = .int(types.filter { $0 == .sliding }.count) }
            if let future = text.futureTokens { t["future_tokens"] = .int(future) }
            object["text"] = .object(t)
        }
        if let vision = architecture.vision {
            object["vision"] = .object(JSONObject([
                ("family", .string(vision.family.rawValue)), ("image_size", .int(vision.imageSize)), ("patch_size", .int(vision.patchSize)),
                ("hidden_size", .int(vision.hiddenSize)), ("layers", .int(vision.layerCount)), ("heads", .int(vision.headCount)),
                ("patches", .int(vision.patchCount)),
            ]))
        }
        if let projector = architecture.projector, let stride = projector.spatialPoolStride {
            object["spatial_pool_stride"] = .int(stride)
        }
        return object
    }

    // MARK: Text

    static func writeText(_ budget: ModelBudget, path: String, mix: MixBudget? = nil, into output: inout OutputBuffer) {
        let a = budget.architecture
        output.line("\(path)  (\(a.modelType), counted from \(budget.parameters.fromTensors ? "the tensors" : "the configuration"))")
        if let text = a.text {
            let attention = AttentionKind(text)
            var line = "  \(text.layerCount) layers, hidden \(text.hiddenSize), \(text.headCount) heads / \(text.kvHeadCount) KV heads (\(attention.label))"
            line += ", head dim \(text.keyLength)\(text.valueLength != text.keyLength ? "/\(text.valueLength)" : "")"
            line += ", FFN \(text.feedForwardLength), vocab \(Formatting.grouped(text.vocabularySize)), context \(Formatting.grouped(text.contextLength))"
            output.line(line)
            if let experts = text.experts { output.line("  \(experts.expertCount) experts, \(experts.usedExpertCount) per token, expert FFN \(experts.feedForwardLength)") }
            if let window = text.slidingWindow, let types = text.layerTypes {
                output.line("  sliding window \(window) on \(types.filter { $0 == .sliding }.count) of \(text.layerCount) layers")
            }
            if let future = text.futureTokens, future > 1 { output.line("  \(future) future-token heads") }
        }
        if let vision = a.vision {
            output.line("  vision: \(vision.family.rawValue) \(vision.imageSize)px / patch \(vision.patchSize) = \(vision.patchCount) patches, \(vision.layerCount) layers, hidden \(vision.hiddenSize)")
        }

        let p = budget.parameters
        output.line()
        output.line("Parameters")
        var table = TextTable(["component", "parameters", "share"], rightAligned: [1, 2])
        for (component, count) in p.byComponent {
            table.add([component.name, Formatting.grouped(count), percent(count, of: p.total)])
        }
        table.add(["total", Formatting.grouped(p.total), "(\(Formatting.count(p.total)))"])
        if p.active != p.total { table.add(["active per token", Formatting.grouped(p.active), "(\(Formatting.count(p.active)))"]) }
        table.add(["non-embedding", Formatting.grouped(p.nonEmbedding), "(\(Formatting.count(p.nonEmbedding)))"])
        table.render(into: &output)

        let w = budget.weights
        output.line()
        output.line("Weights: \(Formatting.bytes(w.bytes)) as stored (" + w.byDType.map { "\($0.dtype) \(Formatting.bytes($0.bytes))" }.joined(separator: ", ") + ")")
        output.line("  plain: " + plainSizes(p.total).filter { $0.name != "bf16" }.map { "\($0.name.uppercased()) \(Formatting.bytes($0.bytes))" }.joined(separator: ", "))
        var types = TextTable(["as type", "bits/weight", "bytes", "size"], rightAligned: [1, 2, 3])
        for name in ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q5_0", "q4_k", "q4_0", "iq4_xs", "q3_k", "q2_k"] {
            let bytes = w.bytes(as: name)
            let bits = p.total > 0 ? Double(bytes) * 8 / Double(p.total) : 0
            types.add([name, Formatting.fixed(bits, 3), Formatting.grouped(bytes), Formatting.bytes(bytes)])
        }
        types.render(into: &output)
        if let mix {
            output.line()
            output.line("As \(mix.name): \(Formatting.grouped(mix.bytes)) bytes (\(Formatting.bytes(mix.bytes))), "
                        + (mix.described ? "from the configuration (the tokenizer's keys not counted)" : "the file quantize writes"))
            output.line("  by type: " + mix.byType.map { "\($0.name) \(Formatting.bytes($0.bytes))" }.joined(separator: ", "))
            output.line("  by component: " + mix.byComponent.map { "\($0.name) \(Formatting.bytes($0.bytes))" }.joined(separator: ", "))
        }

        if let kv = budget.kvCache {
            output.line()
            output.line("KV cache (\(kv.typeK.name.lowercased())/\(kv.typeV.name.lowercased()), \(kv.parallel) sequence\(kv.parallel == 1 ? "" : "s")): \(Formatting.grouped(kv.bytesPerToken)) bytes per token")
            var cache = TextTable(["context", "bytes", "size", "llama.cpp allocates"], rightAligned: [0, 1, 2, 3])
            for context in kv.contexts {
                cache.add([Formatting.grouped(context.context), Formatting.grouped(context.bytes), Formatting.bytes(context.bytes), Formatting.bytes(context.llamaCppBytes)])
            }
            cache.render(into: &output)
        } else if a.text != nil {
            output.line()
            output.line("KV cache: none (\(a.modelType) is not a causal language model)")
        }

        if let flops = budget.flops {
            output.line()
            output.line("FLOPs per token: prefill \(giga(flops.prefill)) (prompt of \(Formatting.grouped(flops.prefillContext)))")
            var table = TextTable(["decode at", "FLOPs"], rightAligned: [0, 1])
            for entry in flops.decode { table.add([Formatting.grouped(entry.context), giga(entry.flops)]) }
            table.render(into: &output)
        }
        if let lora = budget.lora {
            output.line()
            output.line("LoRA rank \(lora.rank) on \(lora.targets.map(\.rawValue).joined(separator: ","))")
            var table = TextTable(["", "value"], rightAligned: [1])
            table.add(["trainable parameters", Formatting.grouped(lora.trainable)])
            table.add(["NF4 base weights", Formatting.bytes(lora.nf4BaseBytes)])
            table.add(["AdamW state", Formatting.bytes(lora.optimizerBytes)])
            table.render(into: &output)
        }
        if let vision = budget.vision {
            output.line()
            output.line("Vision: \(vision.tokensPerImage) tokens per image, \(vision.tokensPerFrame) per video frame")
            output.line("  \(vision.images) image(s) + \(vision.frames) frame(s) = \(Formatting.grouped(vision.tokens)) tokens, KV \(Formatting.bytes(vision.kvBytes))")
        }
        if let fit = budget.fit {
            output.line()
            output.line("Memory \(Formatting.bytes(fit.memory)): needs \(Formatting.bytes(fit.required)) -> \(fit.fits ? "fits" : "does not fit")"
                        + (budget.kvCache != nil ? "; longest context that fits: \(Formatting.grouped(fit.maxContext))" : ""))
        }
        if let ceiling = budget.decodeCeiling, let bytes = budget.bytesReadPerToken {
            output.line()
            output.line("Decode ceiling: \(Formatting.fixed(ceiling, 1)) tokens/s (reads \(Formatting.bytes(bytes)) per token)")
        }
    }

    static func percent(_ part: Int, of total: Int) -> String {
        total > 0 ? Formatting.fixed(Double(part) * 100 / Double(total), 1) + "%" : "-"
    }

    /// FLOPs with the SI prefix that keeps three significant digits readable: "17.552 GFLOP",
    /// "2.10 MFLOP" for a tiny model.
    static func giga(_ flops: Int) -> String {
        let value = Double(flops)
        for (scale, unit) in [(1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP")] where value >= scale {
            return Formatting.fixed(value / scale, 3) + " " + unit
        }
        return "\(flops) FLOP"
    }

    // MARK: Side by side

    /// `--json` for several paths: one object per model, as for one path, with the path as given.
    static func json(_ entries: [(path: String, budget: ModelBudget)]) -> JSONValue {
        .array(entries.map { entry in
            var object = JSONObject([("path", .string(entry.path))])
            for (key, value) in json(entry.budget) { object[key] = value }
            return .object(object)
        })
    }

    /// Column titles: each path's last component (a config file's directory), made unique.
    static func titles(_ paths: [String]) -> [String] {
        var titles = paths.map { path -> String in
            var trimmed = path
            while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
            let last = PathName.lastComponent(of: trimmed)
            let directory = PathName.directory(of: trimmed)
            if ["config.json", "params.json"].contains(last), !directory.isEmpty { return PathName.lastComponent(of: directory) }
            return last
        }
        for (index, title) in titles.enumerated() where titles.filter({ $0 == title }).count > 1 {
            titles[index] = "\(title) (\(index + 1))"
        }
        return titles
    }

    /// One table, a column per model: architecture, attention, parameters by component, bytes
    /// per type, KV cache and FLOPs at the contexts, and what was asked for (LoRA, memory, bandwidth).
    static func writeComparison(_ entries: [(path: String, budget: ModelBudget)], into output: inout OutputBuffer) {
        let titles = Self.titles(entries.map(\.path))
        let budgets = entries.map(\.budget)
        var table = TextTable([""] + titles, rightAligned: Set(1...entries.count))
        func row(_ label: String, _ cell: (ModelBudget) -> String) { table.add([label] + budgets.map(cell)) }
        func section(_ name: String) { table.add([name] + budgets.map { _ in "" }) }
        func text(_ cell: @escaping (TextStack) -> String) -> (ModelBudget) -> String {
            { $0.architecture.text.map(cell) ?? "-" }
        }
        row("model type") { $0.architecture.modelType }
        row("counted from") { $0.parameters.fromTensors ? "tensors" : "configuration" }
        row("layers", text { String($0.layerCount) })
        row("hidden size", text { Formatting.grouped($0.hiddenSize) })
        row("FFN width", text { Formatting.grouped($0.feedForwardLength) })
        row("vocabulary", text { Formatting.grouped($0.vocabularySize) })
        row("context", text { Formatting.grouped($0.contextLength) })
        row("heads / KV heads", text { "\($0.headCount) / \($0.kvHeadCountPerLayer.map { "\($0.min() ?? 0)-\($0.max() ?? 0)" } ?? String($0.kvHeadCount))" })
        row("head dim", text { "\($0.keyLength)\($0.valueLength != $0.keyLength ? "/\($0.valueLength)" : "")" })
        row("attention", text { AttentionKind($0).label })
        row("KV saving vs MHA", text { Formatting.fixed(AttentionKind($0).kvSavingVersusMHA * 100, 1) + "%" })
        row("sliding window", text { t in
            guard let window = t.slidingWindow, let types = t.layerTypes else { return "-" }
            return "\(Formatting.grouped(window)) on \(types.filter { $0 == .sliding }.count)/\(t.layerCount)"
        })
        if budgets.contains(where: { $0.architecture.text?.experts != nil }) {
            row("experts", text { t in t.experts.map { "\($0.usedExpertCount) of \($0.expertCount)" } ?? "-" })
        }
        if budgets.contains(where: { $0.architecture.vision != nil }) {
            row("vision tower") { b in b.architecture.vision.map { "\($0.family.rawValue) \($0.imageSize)px/\($0.patchSize)" } ?? "-" }
        }

        section("parameters")
        let components = BudgetComponent.allCases.filter { component in budgets.contains { $0.parameters.count(of: component) > 0 } }
        for component in components {
            row("  " + component.name) { Formatting.grouped($0.parameters.count(of: component)) }
        }
        row("  total") { Formatting.grouped($0.parameters.total) }
        if budgets.contains(where: { $0.parameters.active != $0.parameters.total }) {
            row("  active per token") { Formatting.grouped($0.parameters.active) }
        }
        row("  non-embedding") { Formatting.grouped($0.parameters.nonEmbedding) }

        section("weights")
        row("  as stored") { Formatting.bytes($0.weights.bytes) }
        for name in ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q5_0", "q4_k", "q4_0", "iq4_xs", "q3_k", "q2_k"] {
            row("  " + name) { Formatting.bytes($0.weights.bytes(as: name)) }
        }

        let contexts = Array(Set(budgets.flatMap(\.contexts))).sorted()
        if let kv = budgets.compactMap(\.kvCache).first {
            section("KV cache (\(kv.typeK.name.lowercased())/\(kv.typeV.name.lowercased()), \(kv.parallel) sequence\(kv.parallel == 1 ? "" : "s"))")
            row("  bytes per token") { $0.kvCache.map { Formatting.grouped($0.bytesPerToken) } ?? "-" }
            for context in contexts {
                row("  at \(Formatting.grouped(context))") { b in
                    b.kvCache?.contexts.first { $0.context == context }.map { Formatting.bytes($0.bytes) } ?? "-"
                }
            }
            for context in contexts {
                row("  llama.cpp at \(Formatting.grouped(context))") { b in
                    b.kvCache?.contexts.first { $0.context == context }.map { Formatting.bytes($0.llamaCppBytes) } ?? "-"
                }
            }
            section("FLOPs per token")
            // The prompt is the first context, the same for every model.
            if let prompt = budgets.compactMap(\.flops).first?.prefillContext {
                row("  prefill, prompt of \(Formatting.grouped(prompt))") { b in
                    guard let flops = b.flops, flops.prefillContext == prompt else { return "-" }
                    return giga(flops.prefill)
                }
            }
            for context in contexts {
                row("  decode at \(Formatting.grouped(context))") { b in
                    b.flops?.decode.first { $0.context == context }.map { giga($0.flops) } ?? "-"
                }
            }
        }
        if budgets.contains(where: { $0.lora != nil }) {
            section("LoRA")
            row("  trainable") { $0.lora.map { Formatting.grouped($0.trainable) } ?? "-" }
            row("  NF4 base weights") { $0.lora.map { Formatting.bytes($0.nf4BaseBytes) } ?? "-" }
            row("  AdamW state") { $0.lora.map { Formatting.bytes($0.optimizerBytes) } ?? "-" }
        }
        if let fit = budgets.compactMap(\.fit).first {
            section("memory \(Formatting.bytes(fit.memory))")
            row("  needs") { $0.fit.map { Formatting.bytes($0.required) } ?? "-" }
            row("  fits") { $0.fit.map { $0.fits ? "yes" : "no" } ?? "-" }
            row("  longest context") { b in b.fit.map { b.kvCache == nil ? "-" : Formatting.grouped($0.maxContext) } ?? "-" }
        }
        if budgets.contains(where: { $0.decodeCeiling != nil }) {
            row("decode ceiling (tokens/s)") { $0.decodeCeiling.map { Formatting.fixed($0, 1) } ?? "-" }
        }
        output.line("\(entries.count) models side by side")
        table.render(indent: "", into: &output)
    }
}
