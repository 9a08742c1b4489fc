import WeightArchitecture
import WeightFormats

/// An adapter with the user's multiplier: `--lora PATH` is factor 1, `--lora-scaled PATH S` is S
/// (llama.cpp's spelling). The effective scale of a module is `factor × module.scale`.
public struct ScaledAdapter: Sendable {
    public let adapter: LoRAAdapter
    public let factor: Float

    public init(_ adapter: LoRAAdapter, factor: Float = 1) {
        self.adapter = adapter
        self.factor = factor
    }
}

/// One low-rank update resolved against a base tensor: `W' = W + scale · B A` with B's rows
/// already in the base's layout (llama's Q/K permutation applied between Hugging Face and GGUF
/// names), or with DoRA `W' = m ⊙ (W + scale · B A) / ‖W + scale · B A‖` per output row.
public struct ResolvedUpdate: Sendable {
    public let module: LoRAModule
    /// `factor × module.scale`.
    public let scale: Float
    /// The adapter it comes from, for messages.
    public let adapterPath: String
}

/// Every adapter of a stack matched to the base's tensors, by the base's own tensor names
/// (Hugging Face or GGUF, as the base checkpoint has them), in stack order. Building it checks
/// that every module has a tensor in the base and that the shapes fit; `run` and `convert`
/// both apply a plan, so the two agree on what an adapter changes.
public struct LoRAPlan: Sendable {
    /// Updates per base tensor name, in the order the adapters were given.
    public private(set) var updates: [String: [ResolvedUpdate]] = [:]
    /// Whole tensors that replace the base's (`modules_to_save`), by base tensor name, in the
    /// base's layout; a later adapter's replacement wins.
    public private(set) var replacements: [String: ReplacementTensor] = [:]
    /// Base tensor names in the order the plan first met them.
    public private(set) var targetNames: [String] = []

    public var isEmpty: Bool { updates.isEmpty && replacements.isEmpty }

    /// - Parameters:
    ///   - adapters: the stack, applied in order.
    ///   - schema: the base family's tensor schema (both name maps).
    ///   - baseIsGGUF: whether the base checkpoint carries GGUF names.
    ///   - model: the base family's name, for messages.
    ///   - baseShape: the row-major shape of a base tensor by name, nil when the base lacks it.
    public init(adapters: [ScaledAdapter], schema: TensorSchema, baseIsGGUF: Bool, model: String,
                baseShape: (String) -> [Int]?) throws {
        for scaled in adapters {
            let adapter = scaled.adapter
            var matched = 0
            var adaptedHere = Set<String>()
            for module in adapter.modules {
                let tensorName = module.name + ".weight"
                let spec = adapter.namespace == .gguf ? schema.spec(gguf: tensorName) : schema.spec(huggingFace: tensorName).flatMap {
                    $0.expert == nil ? $0.spec : nil
                }
                guard let spec, let baseName = baseIsGGUF ? spec.gguf : spec.huggingFaceName else {
                    throw AdapterError.unmatchedModule(module: module.name, model: model)
                }
                guard spec.role.part != .tokenEmbedding || module.magnitude == nil else {
                    throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(module.name)': DoRA on token embeddings is not supported")
                }
                guard let shape = baseShape(baseName) ?? (spec.presence == .tiedAlias ? nil : spec.shape(gguf: baseIsGGUF)) else {
                    throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(module.name)' targets the output head, which this base ties to its token embeddings")
                }
                let columns = shape.dropFirst().reduce(1, *)
                guard shape.count >= 2, module.outputs == shape[0], module.inputs == columns else {
                    throw AdapterError.shapeMismatch(tensor: module.tensorNames.a, adapterShape: [module.outputs, module.inputs],
                                                     baseTensor: baseName, baseShape: shape)
                }
                var placed = module
                if case .rotaryRowPermutation(let heads) = spec.toGGUF, (adapter.namespace == .gguf) != baseIsGGUF {
                    let rows = module.outputs
                    if heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 {
                        placed = module.reorderingOutputs(
                            baseIsGGUF ? RotaryRowOrder.llama(rows: rows, heads: heads) : RotaryRowOrder.llamaInverse(rows: rows, heads: heads))
                    }
                }
                if updates[baseName] == nil && replacements[baseName] == nil { targetNames.append(baseName) }
                updates[baseName, default: []].append(ResolvedUpdate(module: placed, scale: module.scale * scaled.factor, adapterPath: adapter.path))
                adaptedHere.insert(baseName)
                matched += 1
            }
            for replacement in adapter.replacements {
                let spec = adapter.namespace == .gguf ? schema.spec(gguf: replacement.name) : schema.spec(huggingFace: replacement.name)?.spec
                guard let spec, let baseName = baseIsGGUF ? spec.gguf : spec.huggingFaceName else {
                    throw AdapterError.unmatchedModule(module: replacement.name, model: model)
                }
                guard baseIsGGUF == (adapter.namespace == .gguf) || spec.toGGUF == .none else {
                    throw AdapterError.notApplicable(adapter: adapter.path, reason: "'\(replacement.name)' changes on the way to GGUF; apply it to the Hugging Face base")
                }
                let shape = baseShape(baseName) ?? spec.shape(gguf: baseIsGGUF)
                guard replacement.shape == shape else {
                    throw AdapterError.shapeMismatch(tensor: replacement.name, adapterShape: replacement.shape, baseTensor: baseName, baseShape: shape)
                }
                if updates[baseName] == nil && replacements[baseName] == nil { targetNames.append(baseName) }
                // A replacement supersedes every update an earlier adapter made to that tensor; the
                // same adapter's own update (PEFT's saved `base_layer` of an adapted embedding)
                // applies on top of it.
                if !adaptedHere.contains(baseName) { updates[baseName] = nil }
                replacements[baseName] = replacement
                matched += 1
            }
            guard matched > 0 else { throw AdapterError.noMatchingTarget(adapter: adapter.path, model: model) }
        }
    }
}

extension LoRAPlan {
    /// Merges the plan's updates into row `row` (`count` values, float32) of the base tensor
    /// `name`, in stack order: a replacement first overwrites the row with its own; a plain
    /// update adds row `row` of `scale · B A`; a DoRA update then rescales the row to
    /// `m[row] / ‖row‖` (PEFT's merge: `m / ‖W + s B A‖ ⊙ (W + s B A)`).
    public func mergeRow(_ row: Int, of name: String, into values: UnsafeMutablePointer<Float>, count: Int) {
        if let replacement = replacements[name] {
            replacement.values.withUnsafeBufferPointer { source in
                for j in 0..<count { values[j] = source[row * count + j] }
            }
        }
        guard let list = updates[name] else { return }
        for update in list where update.module.inputs == count && row < update.module.outputs {
            update.module.addDeltaRow(row, scale: update.scale, into: values)
            if let magnitude = update.module.magnitude {
                var sum: Double = 0
                for j in 0..<count { sum += Double(values[j]) * Double(values[j]) }
                let norm = sum.squareRoot()
                let factor = norm > 0 ? Float(Double(magnitude[row]) / norm) : 0
                for j in 0..<count { values[j] *= factor }
            }
        }
    }

    /// Whether the plan changes the base tensor `name`.
    public func changes(_ name: String) -> Bool { updates[name] != nil || replacements[name] != nil }
}

extension LoRAPlan {
    /// The plan of `adapters` on the base checkpoint `checkpoint` described by `architecture`
    /// (its family's schema gives both name maps).
    public init(adapters: [ScaledAdapter], base checkpoint: Checkpoint, architecture: ModelArchitecture) throws {
        let family = try ModelFamilies.family(of: architecture)
        try self.init(adapters: adapters, schema: try family.schema(architecture), baseIsGGUF: checkpoint.format == .gguf,
                      model: family.name) { checkpoint.tensor(named: $0)?.shape }
    }
}

extension LoRAPlan {
    /// The plan of `adapters` on a checkpoint whose tensor names the adapter's modules carry as
    /// they are (`<module>.weight`): parts without a schema name map, such as the vision towers.
    /// - Parameter baseShape: the row-major shape of a checkpoint tensor by name, nil when absent.
    public init(adapters: [ScaledAdapter], sameNamesAs model: String, baseShape: (String) -> [Int]?) throws {
        for scaled in adapters {
            let adapter = scaled.adapter
            for module in adapter.modules {
                let name = module.name + ".weight"
                guard let shape = baseShape(name) else { throw AdapterError.unmatchedModule(module: module.name, model: model) }
                guard shape.count >= 2, module.outputs == shape[0], module.inputs == shape.dropFirst().reduce(1, *) else {
                    throw AdapterError.shapeMismatch(tensor: module.tensorNames.a, adapterShape: [module.outputs, module.inputs],
                                                     baseTensor: name, baseShape: shape)
                }
                if updates[name] == nil && replacements[name] == nil { targetNames.append(name) }
                updates[name, default: []].append(ResolvedUpdate(module: module, scale: module.scale * scaled.factor, adapterPath: adapter.path))
            }
            for replacement in adapter.replacements {
                guard let shape = baseShape(replacement.name) else { throw AdapterError.unmatchedModule(module: replacement.name, model: model) }
                guard shape == replacement.shape else {
                    throw AdapterError.shapeMismatch(tensor: replacement.name, adapterShape: replacement.shape, baseTensor: replacement.name,
                                                     baseShape: shape)
                }
                if updates[replacement.name] == nil && replacements[replacement.name] == nil { targetNames.append(replacement.name) }
                updates[replacement.name] = nil
                replacements[replacement.name] = replacement
            }
            guard !adapter.modules.isEmpty || !adapter.replacements.isEmpty else {
                throw AdapterError.noMatchingTarget(adapter: adapter.path, model: model)
            }
        }
    }
}
