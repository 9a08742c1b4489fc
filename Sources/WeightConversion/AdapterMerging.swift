import WeightAdapters
import WeightArchitecture
import WeightFormats

/// `convert BASE OUT --lora PATH`: LoRA adapters merged into the base tensor by tensor, inside
/// the conversion's own streaming (each adapted row is decoded, `s · B A` added, DoRA's
/// rescaling and `modules_to_save` replacements applied, then encoded), so memory stays what
/// `convert` needs plus the adapters.
///
/// Types, as llama-export-lora: without `--type`, merged tensors of a float base keep their
/// type and merged tensors of a quantised base become F16; `keepMergedTypes` (`--type keep`)
/// requantises each merged tensor to its stored type instead. Tensors no adapter changes are
/// copied as the conversion would copy them. An `lm_head` replacement on a tied base becomes
/// an output head of its own (UntiedHead).
enum AdapterMerging {
    /// The plan of `adapters` on `checkpoint` (at `source`), and the output head a replacement
    /// gives a tied base. Every other tensor it changes must be in the checkpoint.
    static func plan(_ adapters: [ScaledAdapter], checkpoint: Checkpoint, source: String) throws -> (LoRAPlan, UntiedHead?) {
        let architecture = checkpoint.gguf != nil ? try GGUFArchitecture.parse(checkpoint.gguf!) : try ArchitectureLoader.load(source)
        let plan = try LoRAPlan(adapters: adapters, base: checkpoint, architecture: architecture)
        let schema = try ModelFamilies.family(of: architecture).schema(architecture)
        var head: UntiedHead?
        for absent in plan.targetNames where checkpoint.tensor(named: absent) == nil {
            let spec = checkpoint.format == .gguf ? schema.spec(gguf: absent) : schema.spec(huggingFace: absent)?.spec
            // PEFT's merge_and_unload keeps a saved lm_head as a module of its own: the merged
            // model has an output head beside the embeddings.
            if let spec, spec.role.part == .outputHead, let replacement = plan.replacements[absent], plan.updates[absent] == nil,
               let huggingFace = spec.huggingFaceName, let gguf = spec.gguf {
                head = UntiedHead(huggingFaceName: huggingFace, ggufName: gguf, replacement: replacement)
                continue
            }
            let path = plan.updates[absent]?.first?.adapterPath ?? adapters.first { !$0.adapter.replacements.isEmpty }?.adapter.path ?? source
            throw AdapterError.notApplicable(adapter: path, reason: "it changes '\(absent)', which this base does not store (tied to the token embeddings); run it unmerged instead")
        }
        return (plan, head)
    }

    /// An output head a `modules_to_save` replacement adds to a base that ties it to the token
    /// embeddings: written as a tensor of its own (`lm_head.weight` / `output.weight`), the
    /// Hugging Face config then saying `tie_word_embeddings: false`.
    struct UntiedHead {
        let huggingFaceName: String
        let ggufName: String
        let replacement: ReplacementTensor

        /// The head as a tensor of `tensors` (named `ggufName` when `gguf`), typed as their
        /// token embedding (F16 for a quantised one unless `keepMergedTypes`, as merged tensors).
        func tensor(among tensors: [PlannedTensor], gguf: Bool, embedding: String, keepMergedTypes: Bool) -> PlannedTensor {
            var type = tensors.first { $0.name == embedding }?.type ?? .ggml(.f32)
            if type.isQuantized && !keepMergedTypes { type = .ggml(.f16) }
            return PlannedTensor(name: gguf ? ggufName : huggingFaceName, shape: replacement.shape, type: type,
                                 content: .values(replacement.values))
        }

        /// `config` with `tie_word_embeddings` false (nested `text_config` too, where it says so).
        static func untied(_ config: JSONObject?) -> JSONObject? {
            guard var config else { return nil }
            config["tie_word_embeddings"] = .bool(false)
            if var text = config["text_config"]?.objectValue, text["tie_word_embeddings"] != nil {
                text["tie_word_embeddings"] = .bool(false)
                config["text_config"] = .object(text)
            }
            return config
        }
    }

    /// `tensors` with the plan's changes attached to the pieces read from adapted tensors.
    static func merged(_ tensors: [PlannedTensor], plan: LoRAPlan, keepMergedTypes: Bool, requested: GGMLType?) -> [PlannedTensor] {
        tensors.map { tensor in
            guard case .pieces(let pieces) = tensor.content, pieces.contains(where: { plan.changes($0.view.name) }) else { return tensor }
            let adjusted = pieces.map { piece -> TensorPiece in
                guard plan.changes(piece.view.name) else { return piece }
                var piece = piece
                let name = piece.view.name
                piece.adjustment = { row, values, count in plan.mergeRow(row, of: name, into: values, count: count) }
                return piece
            }
            var type = tensor.type
            if requested == nil, !keepMergedTypes, tensor.type.isQuantized { type = .ggml(.f16) }
            return PlannedTensor(name: tensor.name, shape: tensor.shape, type: type, content: .pieces(adjusted))
        }
    }

    /// The files of an adapter, which no output may replace.
    static func inputFiles(of adapter: LoRAAdapter) -> [String] {
        guard FileSystem.isDirectory(adapter.path) else { return [adapter.path] }
        return ["adapter_config.json", "adapter_model.safetensors", "adapter_model.bin", "adapters.safetensors"]
            .map { PathName.join(adapter.path, $0) }
    }
}
