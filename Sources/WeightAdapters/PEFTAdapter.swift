import WeightFormats

/// PEFT's LoRA directory: `adapter_config.json` and `adapter_model.safetensors` (or `.bin`),
/// tensors named `base_model.model.<module>.lora_A.weight` `[r, in]` and `.lora_B.weight`
/// `[out, r]`, an embedding's `<module>.lora_embedding_A` `[r, vocab]` and `.lora_embedding_B`
/// `[hidden, r]` (PEFT's `Embedding` adds `s · (B A)ᵀ` to the `[vocab, hidden]` table, so its
/// A and B are read transposed and swapped: B `[vocab, r]` = Aᵀ, A `[r, hidden]` = Bᵀ), DoRA's
/// `<module>.lora_magnitude_vector` `[out]`, and `modules_to_save` as whole
/// tensors `base_model.model.<module>.weight`; mergekit-extract-lora's norm weights (1-D
/// `*_layernorm.weight` / `*.norm.weight`) replace the base's as well.
///
/// Scale per module: `lora_alpha / r`, or `lora_alpha / √r` with `use_rslora`; `r` and
/// `lora_alpha` from `rank_pattern` / `alpha_pattern` when a pattern key matches the module as
/// PEFT's `get_pattern_key` does (`re.match(rf"(.*\.)?({key})$", module)`, first key wins).
/// `fan_in_fan_out` only concerns Conv1D bases (GPT-2); for `nn.Linear` targets PEFT resets it
/// to false, and so does WeightKit.
enum PEFTAdapterReader {
    static let prefix = "base_model.model."

    static func read(directory: String) throws -> LoRAAdapter {
        let configPath = PathName.join(directory, "adapter_config.json")
        let weightPaths = ["adapter_model.safetensors", "adapter_model.bin"].map { PathName.join(directory, $0) }
        guard let weights = weightPaths.first(where: FileSystem.isRegularFile) else {
            throw AdapterError.notAnAdapter(path: directory, reason: "no adapter_model.safetensors or adapter_model.bin")
        }
        guard FileSystem.isRegularFile(configPath) else { throw AdapterError.missingConfiguration(path: directory) }
        let config = try PEFTConfiguration(json: JSON.parse(FileSystem.readFile(configPath)), path: configPath)
        let checkpoint = try Checkpoint.open(weights)
        return try adapter(checkpoint.tensors, config: config, path: directory)
    }

    /// The adapter of `tensors` under `config`.
    static func adapter(_ tensors: [TensorView], config: PEFTConfiguration, path: String) throws -> LoRAAdapter {
        var a: [String: TensorView] = [:], b: [String: TensorView] = [:], magnitude: [String: TensorView] = [:]
        var order: [String] = []
        var embeddings = Set<String>()
        var baseLayers: [TensorView] = []
        var replacements: [ReplacementTensor] = []
        for view in tensors {
            guard view.name.hasPrefix(prefix) else { throw AdapterError.unknownTensor(path: path, tensor: view.name) }
            let key = String(view.name.dropFirst(prefix.count))
            if let module = key.strippingSuffix(".lora_A.weight") {
                a[module] = view
                if !order.contains(module) { order.append(module) }
            } else if let module = key.strippingSuffix(".lora_B.weight") {
                b[module] = view
                if !order.contains(module) { order.append(module) }
            } else if let module = key.strippingSuffix(".lora_embedding_A") {
                a[module] = view
                embeddings.insert(module)
                if !order.contains(module) { order.append(module) }
            } else if let module = key.strippingSuffix(".lora_embedding_B") {
                b[module] = view
                embeddings.insert(module)
                if !order.contains(module) { order.append(module) }
            } else if let module = key.strippingSuffix(".lora_magnitude_vector") ?? key.strippingSuffix(".lora_magnitude_vector.weight") {
                magnitude[module] = view
            } else if let module = key.strippingSuffix(".base_layer.weight") {
                // PEFT saves an adapted embedding's whole table beside its A and B
                // (`save_embedding_layers`): it replaces the base's, the update on top.
                baseLayers.append(view)
                replacements.append(ReplacementTensor(name: module + ".weight", shape: view.shape, values: try view.floats()))
            } else if let module = key.strippingSuffix(".weight"), config.modulesToSave.contains(where: { module == $0 || module.hasSuffix("." + $0) }) {
                replacements.append(ReplacementTensor(name: key, shape: view.shape, values: try view.floats()))
            } else if ReplacementTensor.isNormWeight(key), view.shape.count == 1 {
                // mergekit-extract-lora stores the fine-tune's norm weights beside A and B.
                replacements.append(ReplacementTensor(name: key, shape: view.shape, values: try view.floats()))
            } else {
                // lora_B biases (`lora_bias`), token adapters, anything else: refused by name.
                throw AdapterError.unknownTensor(path: path, tensor: view.name)
            }
        }
        var modules: [LoRAModule] = []
        for name in order {
            let isEmbedding = embeddings.contains(name)
            let (aSuffix, bSuffix) = isEmbedding ? (".lora_embedding_A", ".lora_embedding_B") : (".lora_A.weight", ".lora_B.weight")
            guard let aView = a[name] else {
                throw AdapterError.unpairedTensor(path: path, tensor: prefix + name + bSuffix, missing: prefix + name + aSuffix)
            }
            guard let bView = b[name], bView.name.hasSuffix(bSuffix), aView.name.hasSuffix(aSuffix) else {
                throw AdapterError.unpairedTensor(path: path, tensor: aView.name, missing: prefix + name + bSuffix)
            }
            guard config.targets(name) else {
                throw AdapterError.invalidConfiguration(path: path, key: "target_modules", reason: "does not match '\(name)', which the adapter holds")
            }
            var (aValues, rank, inputs) = try AdapterTensors.matrix(aView)
            var (bValues, outputs, bRank) = try AdapterTensors.matrix(bView)
            if isEmbedding {
                // lora_embedding_A [r, vocab], lora_embedding_B [hidden, r]: the update of the
                // [vocab, hidden] table is Aᵀ Bᵀ, so B' = Aᵀ [vocab, r] and A' = Bᵀ [r, hidden].
                let (peftA, peftB) = (aValues, bValues)
                (rank, outputs, inputs, bRank) = (aView.shape[0], aView.shape[1], bView.shape[0], bView.shape[1])
                aValues = AdapterTensors.transposed(peftB, rows: inputs, columns: bRank)
                bValues = AdapterTensors.transposed(peftA, rows: rank, columns: outputs)
            }
            guard bRank == rank else {
                throw AdapterError.invalidShape(tensor: bView.name, shape: bView.shape, reason: "rank \(bRank), but \(aView.name) has rank \(rank)")
            }
            let (configuredRank, alpha) = config.rankAndAlpha(module: name)
            guard configuredRank == rank else {
                throw AdapterError.invalidShape(tensor: aView.name, shape: aView.shape, reason: "rank \(rank), but the configuration says r = \(configuredRank)")
            }
            let scale = config.useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
            var magnitudeValues: [Float]?
            if isEmbedding, let m = magnitude[name] {
                throw AdapterError.unsupportedFeature(path: path, feature: "DoRA on the embedding '\(m.name)'")
            }
            if let m = magnitude.removeValue(forKey: name) {
                guard m.shape == [outputs] else {
                    throw AdapterError.invalidShape(tensor: m.name, shape: m.shape, reason: "expected [\(outputs)], one value per output row")
                }
                magnitudeValues = try m.floats()
            } else if config.useDoRA {
                throw AdapterError.unpairedTensor(path: path, tensor: aView.name, missing: prefix + name + ".lora_magnitude_vector")
            }
            modules.append(LoRAModule(name: name, tensorNames: (aView.name, bView.name), a: aValues, b: bValues, rank: rank, inputs: inputs,
                                      outputs: outputs, scale: Float(scale), magnitude: magnitudeValues, isEmbedding: isEmbedding))
        }
        if let stray = baseLayers.first(where: { !embeddings.contains(String($0.name.dropFirst(prefix.count).dropLast(".base_layer.weight".count))) }) {
            throw AdapterError.unknownTensor(path: path, tensor: stray.name)
        }
        if let stray = magnitude.values.first { throw AdapterError.unpairedTensor(path: path, tensor: stray.name, missing: "lora_A and lora_B") }
        guard !modules.isEmpty || !replacements.isEmpty else { throw AdapterError.notAnAdapter(path: path, reason: "it holds no LoRA tensors") }
        return LoRAAdapter(path: path, format: .peft, namespace: .huggingFace, modules: modules, replacements: replacements,
                           baseModel: config.baseModel, alpha: config.alpha)
    }
}

/// The keys of `adapter_config.json` that decide what a LoRA adapter computes.
struct PEFTConfiguration {
    enum Targets {
        /// Module-name suffixes: `q_proj` matches `model.layers.0.self_attn.q_proj`.
        case names([String])
        /// A full-match regular expression.
        case pattern(String, Regex<AnyRegexOutput>)
        /// Every linear layer but the output head.
        case allLinear
    }

    var rank: Int
    var alpha: Double
    var useRSLoRA: Bool
    var useDoRA: Bool
    var targets: Targets
    var rankPattern: [(String, Int)]
    var alphaPattern: [(String, Double)]
    var modulesToSave: [String]
    var baseModel: String?

    init(json: JSONValue, path: String) throws {
        guard let object = json.objectValue else { throw AdapterError.invalidConfiguration(path: path, key: "(root)", reason: "is not a JSON object") }
        func fail(_ key: String, _ reason: String) -> AdapterError { .invalidConfiguration(path: path, key: key, reason: reason) }
        if let type = object["peft_type"]?.stringValue, type != "LORA" {
            throw AdapterError.unsupportedFeature(path: path, feature: "peft_type \(type) (only LORA)")
        }
        guard let rank = object["r"]?.intValue else { throw fail("r", "is missing or not an integer") }
        guard rank >= 1 else { throw fail("r", "is \(rank); a LoRA rank must be at least 1") }
        self.rank = rank
        let alpha = object["lora_alpha"]?.doubleValue ?? 8
        guard alpha.isFinite else { throw fail("lora_alpha", "is not a finite number") }
        self.alpha = alpha
        useRSLoRA = object["use_rslora"]?.boolValue ?? false
        useDoRA = object["use_dora"]?.boolValue ?? false
        baseModel = object["base_model_name_or_path"]?.stringValue
        // `layers_to_transform` / `layers_pattern` only narrow which modules were adapted; the file
        // holds exactly those, so they need nothing here.
        for key in ["trainable_token_indices", "alora_invocation_tokens"] {
            if let value = object[key], !value.isNull { throw AdapterError.unsupportedFeature(path: path, feature: "'\(key)'") }
        }
        if let bias = object["bias"]?.stringValue, bias != "none" { throw AdapterError.unsupportedFeature(path: path, feature: "bias \"\(bias)\"") }
        if object["lora_bias"]?.boolValue == true { throw AdapterError.unsupportedFeature(path: path, feature: "lora_bias (lora_B biases)") }
        switch object["target_modules"] {
        case .string(let text)?:
            if text == "all-linear" {
                targets = .allLinear
            } else {
                do { targets = .pattern(text, try Regex(text)) } catch { throw fail("target_modules", "is not a regular expression Swift reads") }
            }
        case .array(let items)?:
            let names = items.compactMap(\.stringValue)
            guard names.count == items.count, !names.isEmpty else { throw fail("target_modules", "must be a list of module names") }
            targets = .names(names)
        default:
            throw fail("target_modules", "is missing (a list of module names, a regular expression or \"all-linear\")")
        }
        func pattern<T>(_ key: String, _ read: (JSONValue) -> T?) throws -> [(String, T)] {
            guard let value = object[key], !value.isNull else { return [] }
            guard let members = value.objectValue else { throw fail(key, "is not an object") }
            return try members.map { member in
                guard let parsed = read(member.value) else { throw fail(key, "has a non-numeric value for '\(member.key)'") }
                return (member.key, parsed)
            }
        }
        rankPattern = try pattern("rank_pattern") { $0.intValue }
        alphaPattern = try pattern("alpha_pattern") { $0.doubleValue }
        modulesToSave = object["modules_to_save"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Whether `module` is one of the configured targets, as PEFT's `check_target_module_exists`.
    func targets(_ module: String) -> Bool {
        switch targets {
        case .names(let names): return names.contains { module == $0 || module.hasSuffix("." + $0) }
        case .pattern(_, let regex): return (try? regex.wholeMatch(in: module)) != nil
        case .allLinear: return !module.hasSuffix("lm_head")
        }
    }

    /// `r` and `lora_alpha` of `module`, with the patterns applied.
    func rankAndAlpha(module: String) -> (Int, Double) {
        let rank = rankPattern.first { Self.patternMatches($0.0, module) }?.1 ?? self.rank
        let alpha = alphaPattern.first { Self.patternMatches($0.0, module) }?.1 ?? self.alpha
        return (rank, alpha)
    }

    /// PEFT's pattern rule: `re.match(rf"(.*\.)?({key})$", module)`.
    static func patternMatches(_ key: String, _ module: String) -> Bool {
        guard let regex = try? Regex("(.*\\.)?(\(key))$") else { return false }
        return (try? regex.prefixMatch(in: module)) != nil
    }
}

extension String {
    func strippingSuffix(_ suffix: String) -> String? {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : nil
    }
}
