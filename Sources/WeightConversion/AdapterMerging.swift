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
/// copied as the conversion would copy them.
enum AdapterMerging {
    /// The plan of `adapters` on `checkpoint` (at `source`); every tensor it changes must be in
    /// the checkpoint (an `lm_head` replacement on a tied base is refused).
    static func plan(_ adapters: [ScaledAdapter], checkpoint: Checkpoint, source: String) throws -> LoRAPlan {
        let architecture = checkpoint.gguf != nil ? try GGUFArchitecture.parse(checkpoint.gguf!) : try ArchitectureLoader.load(source)
        let plan = try LoRAPlan(adapters: adapters, base: checkpoint, architecture: architecture)
        if let absent = plan.targetNames.first(where: { checkpoint.tensor(named: $0) == nil }) {
            let path = plan.updates[absent]?.first?.adapterPath ?? adapters.first { !$0.adapter.replacements.isEmpty }?.adapter.path ?? source
            throw AdapterError.notApplicable(adapter: path, reason: "it replaces '\(absent)', which this base does not store (tied to the token embeddings); run it unmerged instead")
        }
        return plan
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
