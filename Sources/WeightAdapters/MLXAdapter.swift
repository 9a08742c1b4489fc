import WeightFormats

/// An MLX (mlx-lm) LoRA adapter: `adapters.safetensors` with `<module>.lora_a` `[in, r]` and
/// `<module>.lora_b` `[r, out]` (transposed against PEFT), and `adapter_config.json` whose
/// `lora_parameters.scale` is the multiplier of `B A` itself (no alpha / r).
enum MLXAdapterReader {
    static func read(directory: String) throws -> LoRAAdapter {
        let configPath = PathName.join(directory, "adapter_config.json")
        guard FileSystem.isRegularFile(configPath) else { throw AdapterError.missingConfiguration(path: directory) }
        let config = try JSON.parse(FileSystem.readFile(configPath))
        if let type = config["fine_tune_type"]?.stringValue, type != "lora" {
            throw AdapterError.unsupportedFeature(path: configPath, feature: "fine_tune_type '\(type)' (only lora)")
        }
        guard let parameters = config["lora_parameters"]?.objectValue else {
            throw AdapterError.invalidConfiguration(path: configPath, key: "lora_parameters", reason: "is missing or not an object")
        }
        guard let scale = parameters["scale"]?.doubleValue, scale.isFinite else {
            throw AdapterError.invalidConfiguration(path: configPath, key: "lora_parameters.scale", reason: "is missing or not a finite number")
        }
        let rank = parameters["rank"]?.intValue
        if let rank, rank < 1 {
            throw AdapterError.invalidConfiguration(path: configPath, key: "lora_parameters.rank", reason: "is \(rank); a LoRA rank must be at least 1")
        }
        let checkpoint = try Checkpoint.open(PathName.join(directory, "adapters.safetensors"))
        let pairs = try AdapterTensors.pairs(checkpoint.tensors, path: directory, aSuffix: ".lora_a", bSuffix: ".lora_b") { view in
            throw AdapterError.unknownTensor(path: directory, tensor: view.name)
        }
        let modules = try pairs.map { name, aView, bView -> LoRAModule in
            let (aValues, inputs, r) = try AdapterTensors.matrix(aView)
            let (bValues, bRank, outputs) = try AdapterTensors.matrix(bView)
            guard bRank == r else {
                throw AdapterError.invalidShape(tensor: bView.name, shape: bView.shape, reason: "rank \(bRank), but \(aView.name) has rank \(r)")
            }
            if let rank, rank != r {
                throw AdapterError.invalidShape(tensor: aView.name, shape: aView.shape, reason: "rank \(r), but lora_parameters.rank is \(rank)")
            }
            return LoRAModule(name: name, tensorNames: (aView.name, bView.name),
                              a: AdapterTensors.transposed(aValues, rows: inputs, columns: r),
                              b: AdapterTensors.transposed(bValues, rows: r, columns: outputs),
                              rank: r, inputs: inputs, outputs: outputs, scale: Float(scale))
        }
        guard !modules.isEmpty else { throw AdapterError.notAnAdapter(path: directory, reason: "it holds no lora_a/lora_b tensors") }
        return LoRAAdapter(path: directory, format: .mlx, namespace: .huggingFace, modules: modules,
                           baseModel: config["model"]?.stringValue)
    }
}
