import WeightAdapters
import WeightArchitecture
import WeightFormats

/// LoRA adapters between PEFT's (or MLX's) layout and llama.cpp's adapter GGUF, as
/// `convert_lora_to_gguf.py` (llama-cpp-python 0.3.36) writes it:
///
/// - metadata `general.architecture` (the base family's GGUF name), `general.type = adapter`,
///   `adapter.type = lora`, `general.name` (the adapter directory's name, title-cased),
///   `adapter.lora.alpha` (float32), `general.quantization_version = 2`;
/// - per adapted weight `<gguf name>.lora_a` (row-major `[r, in]`, ne `[in, r]`) and
///   `.lora_b` (row-major `[out, r]`, ne `[r, out]`), names from the base family's schema, the
///   base converter's transforms applied to lora_b (llama's Q/K row permutation);
/// - float32 unless a type is asked for (rows that do not fit a block type fall back to F16).
///
/// llama.cpp scales each module by `alpha / rank`, one alpha for the file. Where PEFT's scale
/// differs (rsLoRA's `alpha / √r`, `alpha_pattern`, an MLX `scale`), the ratio is folded into
/// lora_b so that llama.cpp computes PEFT's update. DoRA magnitudes and `modules_to_save`
/// tensors have no place in llama.cpp's format: refused, merge instead.
public enum AdapterConversion {
    /// Writes `adapter` (PEFT or MLX) as an adapter GGUF for the base at `base`.
    public static func toGGUF(_ adapter: LoRAAdapter, base: String, destination: String, type: GGMLType = .f32,
                              overwrite: Bool = false, inputs: InputFiles = InputFiles()) throws -> ConversionReport {
        guard adapter.namespace == .huggingFace else {
            throw AdapterError.notApplicable(adapter: adapter.path, reason: "it is an adapter GGUF already")
        }
        if let module = adapter.modules.first(where: { $0.magnitude != nil }) {
            throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(module.name)' is DoRA (lora_magnitude_vector), which llama.cpp cannot apply; merge instead (convert BASE OUT --lora ADAPTER)")
        }
        let adapter = try droppingSavedBaseLayers(adapter, base: base)
        if let replacement = adapter.replacements.first(where: { !$0.isVector }) {
            throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(replacement.name)' is a whole tensor (modules_to_save), which a llama.cpp adapter cannot hold; merge instead (convert BASE OUT --lora ADAPTER)")
        }
        let (family, schema, architecture) = try baseSchema(base)
        guard let ggufArchitecture = family.ggufArchitecture else {
            throw ConversionError.unsupportedArchitecture(name: family.name, supported: ModelFamilies.ggufArchitectures)
        }
        if architecture.text?.tiedEmbeddings == true, let head = adapter.modules.first(where: { $0.name.hasSuffix("lm_head") }) {
            throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(head.name)' adapts lm_head, which this base ties to its token embeddings (llama.cpp has no output tensor to adapt)")
        }
        // Matched in GGUF's layout: names, shapes and the Q/K permutation from the schema.
        let plan = try LoRAPlan(adapters: [ScaledAdapter(adapter)], schema: schema, baseIsGGUF: true, model: family.name) { _ in nil }
        let alpha = adapter.alpha ?? Double(adapter.modules[0].scale) * Double(adapter.modules[0].rank)
        var tensors: [PlannedTensor] = []
        // mergekit's norm weights first, passed through as convert_lora_to_gguf.py does (it
        // yields them while it pairs the lora_A and lora_B tensors).
        for name in plan.targetNames {
            guard let norm = plan.replacements[name] else { continue }
            tensors.append(PlannedTensor(name: name, shape: norm.shape, type: .ggml(.f32), content: .values(norm.values)))
        }
        for name in plan.targetNames {
            guard let update = plan.updates[name]?.first else { continue }
            let module = update.module
            // llama.cpp's scale for this module, and the factor that makes it PEFT's.
            let llamaScale = alpha != 0 ? alpha / Double(module.rank) : 1
            let fold = Float(Double(update.scale) / llamaScale)
            var pair = [(".lora_a", [module.rank, module.inputs], module.a), (".lora_b", [module.outputs, module.rank], module.b)]
            if schema.spec(gguf: name)?.role.part == .tokenEmbedding {
                // token_embd's lora_a transposed (convert_lora_to_gguf.py's `lora_a.T`): lora_a is
                // the table's B [vocab, r], lora_b its Aᵀ [hidden, r] (llm_build_inp_embd).
                pair = [(".lora_a", [module.outputs, module.rank], module.b),
                        (".lora_b", [module.inputs, module.rank], AdapterTensors.transposed(module.a, rows: module.rank, columns: module.inputs))]
            }
            if fold != 1 { pair[1].2 = pair[1].2.map { $0 * fold } }
            for (suffix, shape, values) in pair {
                let stored = type == .f32 ? .f32 : TypeRules.fitting(type, rowLength: shape[1])
                tensors.append(PlannedTensor(name: name + suffix, shape: shape, type: .ggml(stored), content: .values(values)))
            }
        }
        var metadata = GGUFMetadataList()
        metadata["general.architecture"] = .string(ggufArchitecture)
        metadata["general.type"] = .string("adapter")
        metadata["adapter.type"] = .string("lora")
        metadata["general.name"] = .string(Converter.titleCased(
            PathName.lastComponent(of: adapter.path).split(whereSeparator: { $0 == "-" || $0 == "_" }).joined(separator: " ")))
        metadata["adapter.lora.alpha"] = .float32(Float(alpha))
        metadata["general.quantization_version"] = .uint32(2)
        var options = ConversionOptions(overwrite: overwrite)
        options.inputs = inputs
        for file in AdapterMerging.inputFiles(of: adapter) + [base] { options.inputs.add(path: file) }
        var report = ConversionReport()
        try Converter.writeGGUF(destination, metadata: metadata, tensors: tensors, options: options, report: &report, progress: nil)
        return report
    }

    /// Writes the adapter GGUF `adapter` back as a PEFT directory (adapter_config.json +
    /// adapter_model.safetensors, float32) for the base at `base`: Hugging Face names, the Q/K
    /// permutation undone, `r` the largest rank and `rank_pattern` for the others,
    /// `lora_alpha` llama.cpp's alpha (so PEFT's `alpha / r` is llama.cpp's scale).
    public static func toPEFT(_ adapter: LoRAAdapter, base: String, destination: String, overwrite: Bool = false,
                              inputs: InputFiles = InputFiles()) throws -> ConversionReport {
        guard adapter.format == .gguf else {
            throw AdapterError.notApplicable(adapter: adapter.path, reason: "a PEFT directory is written from an adapter GGUF")
        }
        let (family, schema, _) = try baseSchema(base)
        let plan = try LoRAPlan(adapters: [ScaledAdapter(adapter)], schema: schema, baseIsGGUF: false, model: family.name) { _ in nil }
        let rank = adapter.rank
        // alpha 0 means a scale of 1 in llama.cpp: PEFT then needs alpha = r per module.
        let alpha = adapter.alpha ?? 0
        var tensors: [PlannedTensor] = []
        var rankPattern: [(String, JSONValue)] = [], alphaPattern: [(String, JSONValue)] = []
        var suffixes: [String] = []
        for name in plan.targetNames {
            if let norm = plan.replacements[name] {
                tensors.append(PlannedTensor(name: "base_model.model." + name, shape: norm.shape, type: .ggml(.f32), content: .values(norm.values)))
                continue
            }
            guard let update = plan.updates[name]?.first else { continue }
            let module = update.module
            let path = String(name.dropLast(".weight".count))
            if let suffix = path.split(separator: ".").last.map(String.init), !suffixes.contains(suffix) { suffixes.append(suffix) }
            if module.rank != rank { rankPattern.append((path, .number(JSONNumber(module.rank)))) }
            if alpha == 0 { alphaPattern.append((path, .number(JSONNumber(module.rank)))) }
            if schema.spec(huggingFace: name)?.spec.role.part == .tokenEmbedding {
                // PEFT's Embedding: lora_embedding_A [r, vocab] = Bᵀ, lora_embedding_B [hidden, r] = Aᵀ.
                tensors.append(PlannedTensor(name: "base_model.model." + path + ".lora_embedding_A", shape: [module.rank, module.outputs],
                                             type: .ggml(.f32), content: .values(AdapterTensors.transposed(module.b, rows: module.outputs, columns: module.rank))))
                tensors.append(PlannedTensor(name: "base_model.model." + path + ".lora_embedding_B", shape: [module.inputs, module.rank],
                                             type: .ggml(.f32), content: .values(AdapterTensors.transposed(module.a, rows: module.rank, columns: module.inputs))))
                continue
            }
            tensors.append(PlannedTensor(name: "base_model.model." + path + ".lora_A.weight", shape: [module.rank, module.inputs],
                                         type: .ggml(.f32), content: .values(module.a)))
            tensors.append(PlannedTensor(name: "base_model.model." + path + ".lora_B.weight", shape: [module.outputs, module.rank],
                                         type: .ggml(.f32), content: .values(module.b)))
        }
        let config: JSONObject = JSONObject([
            ("base_model_name_or_path", .string(base)),
            ("bias", .string("none")),
            ("fan_in_fan_out", .bool(false)),
            ("lora_alpha", .number(alpha == 0 ? JSONNumber(rank) : number(alpha))),
            ("lora_dropout", .number(JSONNumber(0))),
            ("modules_to_save", .null),
            ("peft_type", .string("LORA")),
            ("r", .number(JSONNumber(rank))),
            ("rank_pattern", .object(JSONObject(rankPattern))),
            ("alpha_pattern", .object(JSONObject(alphaPattern))),
            ("target_modules", .array(suffixes.map { .string($0) })),
            ("task_type", .string("CAUSAL_LM")),
            ("use_dora", .bool(false)),
            ("use_rslora", .bool(false)),
        ])
        var options = ConversionOptions(overwrite: overwrite)
        options.inputs = inputs
        options.inputs.add(path: adapter.path)
        options.inputs.add(path: base)
        let directory = try OutputDirectory(destination: destination, overwrite: options.overwrite, inputs: options.inputs)
        try directory.checkFree(["adapter_config.json", "adapter_model.safetensors"])
        var inner = options
        inner.overwrite = false
        var report = ConversionReport()
        do {
            try Converter.writeSafeTensorsFile(directory.path(for: "adapter_model.safetensors"), metadata: [("format", "pt")],
                                               tensors: tensors, layouts: try Converter.safetensorsLayouts(tensors), options: inner,
                                               report: &report, progress: nil)
            let output = try OutputFile(destination: directory.path(for: "adapter_config.json"))
            try output.write(JSONWriter.string(.object(config), indent: 2) + "\n")
            try output.commit()
        } catch WriteError.writeFailed(_, let reason, _) {
            throw WriteError.writeFailed(path: destination, reason: reason, leftBehind: directory.abandon())
        }
        report.outputs = try directory.commit()
        return report
    }

    /// `adapter` without the whole tables PEFT saves beside an adapted embedding
    /// (`<module>.base_layer.weight`, which convert_lora_to_gguf.py skips) when they hold the
    /// base's own values; a table that differs from the base's stays, and is refused as a whole
    /// tensor (its new rows need a merge).
    static func droppingSavedBaseLayers(_ adapter: LoRAAdapter, base: String) throws -> LoRAAdapter {
        let adapted = Set(adapter.modules.map { $0.name + ".weight" })
        let candidates = adapter.replacements.filter { adapted.contains($0.name) }
        guard !candidates.isEmpty else { return adapter }
        let checkpoint = try Checkpoint.open(base)
        let unchanged = try candidates.filter { replacement in
            guard let view = checkpoint.tensor(named: replacement.name), view.shape == replacement.shape else { return false }
            return try view.floats() == replacement.values
        }.map(\.name)
        return LoRAAdapter(path: adapter.path, format: adapter.format, namespace: adapter.namespace, modules: adapter.modules,
                           replacements: adapter.replacements.filter { !unchanged.contains($0.name) }, baseModel: adapter.baseModel,
                           alpha: adapter.alpha)
    }

    /// `value` as JSON writes it: an integer when it is one.
    static func number(_ value: Double) -> JSONNumber {
        value == value.rounded() && abs(value) < 1e15 ? JSONNumber(Int(value)) : JSONNumber(text: "\(value)")
    }

    /// The family, schema and description of the base at `path` (a Hugging Face directory or a GGUF).
    static func baseSchema(_ path: String) throws -> (any ModelFamily.Type, TensorSchema, ModelArchitecture) {
        let architecture = try ArchitectureLoader.load(path)
        let family = try ModelFamilies.family(of: architecture)
        return (family, try family.schema(architecture), architecture)
    }
}
