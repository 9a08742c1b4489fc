import WeightFormats

/// llama.cpp's LoRA adapter GGUF (as `convert_lora_to_gguf.py` writes it and
/// `llama_adapter_lora_init` reads it): `general.type = "adapter"`, `adapter.type = "lora"`,
/// `adapter.lora.alpha`; per module `<name>.weight.lora_a` with ne `[in, r]` (row-major
/// `[r, in]`) and `<name>.weight.lora_b` with ne `[r, out]` (row-major `[out, r]`). The scale
/// is `alpha / rank` with the rank read from lora_b (`ne[0]`), or 1 when alpha is 0, as llama.cpp.
/// `token_embd` is the exception: lora_a ne `[r, vocab]`, lora_b ne `[r, hidden]`.
enum GGUFAdapterReader {
    /// The embedding table's module, whose lora_a and lora_b llama.cpp stores transposed.
    static let tokenEmbedding = "token_embd"

    static func read(path: String) throws -> LoRAAdapter {
        let checkpoint = try Checkpoint.open(path)
        guard let file = checkpoint.gguf else { throw AdapterError.notAnAdapter(path: path, reason: "not a GGUF file") }
        let metadata = file.metadata
        guard metadata.string("general.type") == "adapter" else {
            throw AdapterError.notAnAdapter(path: path, reason: "general.type is \(metadata.string("general.type").map { "'\($0)'" } ?? "absent"), not 'adapter'")
        }
        if let alora = metadata.entries.first(where: { $0.key.hasPrefix("adapter.alora.") }) {
            throw AdapterError.unsupportedFeature(path: path, feature: "aLoRA ('\(alora.key)')")
        }
        guard let type = metadata.string("adapter.type") else {
            throw AdapterError.invalidConfiguration(path: path, key: "adapter.type", reason: "is missing")
        }
        guard type == "lora" else { throw AdapterError.unsupportedFeature(path: path, feature: "adapter.type '\(type)' (only lora)") }
        let alpha = metadata.double("adapter.lora.alpha") ?? 0
        guard alpha.isFinite else { throw AdapterError.invalidConfiguration(path: path, key: "adapter.lora.alpha", reason: "is not finite") }
        var replacements: [ReplacementTensor] = []
        let pairs = try AdapterTensors.pairs(checkpoint.tensors, path: path, aSuffix: ".weight.lora_a", bSuffix: ".weight.lora_b") { view in
            // Norm weights convert_lora_to_gguf.py passed through from mergekit.
            guard ReplacementTensor.isNormWeight(view.name), view.shape.count == 1 else {
                throw AdapterError.unknownTensor(path: path, tensor: view.name)
            }
            replacements.append(ReplacementTensor(name: view.name, shape: view.shape, values: try view.floats()))
        }
        let modules = try pairs.map { name, aView, bView -> LoRAModule in
            var (aValues, rank, inputs) = try AdapterTensors.matrix(aView)
            var (bValues, outputs, bRank) = try AdapterTensors.matrix(bView)
            if name == tokenEmbedding {
                // token_embd: lora_a ne [r, vocab] (row-major [vocab, r], the B of the table's
                // update) and lora_b ne [r, hidden] (row-major [hidden, r], Aᵀ), as
                // llm_build_inp_embd multiplies them.
                let (tableB, tableAT) = (aValues, bValues)
                (outputs, rank, inputs, bRank) = (aView.shape[0], aView.shape[1], bView.shape[0], bView.shape[1])
                bValues = tableB
                aValues = AdapterTensors.transposed(tableAT, rows: inputs, columns: bRank)
            }
            guard bRank == rank else {
                throw AdapterError.invalidShape(tensor: bView.name, shape: bView.shape, reason: "rank \(bRank), but \(aView.name) has rank \(rank)")
            }
            let scale = alpha != 0 ? alpha / Double(bRank) : 1
            return LoRAModule(name: name, tensorNames: (aView.name, bView.name), a: aValues, b: bValues, rank: rank, inputs: inputs,
                              outputs: outputs, scale: Float(scale), isEmbedding: name == tokenEmbedding)
        }
        guard !modules.isEmpty else { throw AdapterError.notAnAdapter(path: path, reason: "it holds no lora_a/lora_b tensors") }
        return LoRAAdapter(path: path, format: .gguf, namespace: .gguf, modules: modules, replacements: replacements,
                           baseModel: metadata.string("general.architecture"), alpha: alpha)
    }
}
