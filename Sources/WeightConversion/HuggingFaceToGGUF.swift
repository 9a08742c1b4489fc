import WeightArchitecture
import WeightFormats

/// Plans a Hugging Face (or Meta) checkpoint's conversion to GGUF as llama.cpp's
/// `convert_hf_to_gguf.py` does it, from the family's tensor schema: llama.cpp's names, the
/// transforms its converter applies (the llama Q/K row permutation, Gemma's `1 + w` norms, cut
/// embeddings), experts stacked per projection, the family's keys and the converter's type rules.
public enum HuggingFaceToGGUF {
    /// The model types that convert to GGUF.
    public static var supportedModelTypes: [String] {
        ModelFamilies.all.filter { $0.writesGGUF }.flatMap { $0.modelTypes }
    }

    /// The output tensors and metadata.
    /// - Parameters:
    ///   - requested: the type 2-D weights get (nil: each keeps its float type).
    ///   - name: `general.name`.
    public static func plan(
        checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?, name: String
    ) throws -> (metadata: GGUFMetadataList, tensors: [PlannedTensor], skipped: [String]) {
        let family = try ModelFamilies.family(of: architecture)
        guard family.writesGGUF else {
            throw ConversionError.unsupportedArchitecture(name: architecture.modelType, supported: supportedModelTypes)
        }
        let architecture = try prepared(architecture, directory: checkpoint.directory)
        let schema = try family.schema(architecture)
        var skipped: [String] = []
        // Output tensors in the order their first source tensor appears; stacked experts
        // collect their slices by expert index.
        var order: [(spec: TensorSpec, pieces: [Int: TensorPiece], byExpert: Bool)] = []
        var position: [String: Int] = [:]
        func add(_ spec: TensorSpec, _ piece: TensorPiece, expert: Int? = nil) {
            let name = spec.gguf!
            if position[name] == nil {
                position[name] = order.count
                order.append((spec, [:], expert != nil))
            }
            order[position[name]!].pieces[expert ?? 0] = piece
        }
        for view in checkpoint.tensors {
            guard let (spec, expert) = schema.spec(huggingFace: view.name), spec.gguf != nil else {
                skipped.append(view.name)
                continue
            }
            switch spec.huggingFace {
            case .tensor:
                try expectShape(view, spec.shape)
                add(spec, try piece(view, spec))
            case .experts(let layout):
                if let expert {
                    try expectShape(view, Array(spec.shape.dropFirst()))
                    add(spec, TensorPiece(view: view), expert: expert)
                } else if let packed = layout.packed, packed.part == .whole {
                    try expectShape(view, spec.shape)
                    add(spec, TensorPiece(view: view))
                } else {
                    // transformers 5.x `gate_up_proj` [E, 2I, H]: per expert, gate rows then up rows.
                    guard let layer = spec.role.layer, let up = schema[.layer(layer, .expertUp)] else { skipped.append(view.name); continue }
                    let experts = spec.shape[0], half = spec.shape[1]
                    try expectShape(view, [experts, 2 * half, spec.shape[2]])
                    for e in 0..<experts {
                        add(spec, TensorPiece(view: view, rows: (e * 2 * half)..<(e * 2 * half + half)), expert: e)
                        add(up, TensorPiece(view: view, rows: (e * 2 * half + half)..<((e + 1) * 2 * half)), expert: e)
                    }
                }
            case .none:
                skipped.append(view.name)
            }
        }
        // Every tensor the description requires must be there.
        let missing = schema.tensors.filter { $0.presence == .required && $0.gguf != nil && position[$0.gguf!] == nil }
        if !missing.isEmpty {
            throw ConversionError.missingTensors(names: missing.map { $0.huggingFaceName ?? $0.gguf! })
        }
        var tensors = family.generatedTensors(architecture).map {
            PlannedTensor(name: $0.name, shape: [$0.values.count], type: .ggml(.f32), content: .values($0.values))
        }
        for (spec, slots, byExpert) in order {
            let name = spec.gguf!
            let shape = spec.shape(gguf: true)
            let pieces: [TensorPiece] = try byExpert
                ? (0..<spec.shape[0]).map { e in
                    guard let piece = slots[e] else { throw ConversionError.missingExpert(tensor: name, expert: e) }
                    return piece
                }
                : [slots[0]!]
            let type = outputType(name: name, shape: shape, source: pieces[0].view.dtype, requested: requested)
            tensors.append(PlannedTensor(name: name, shape: shape, type: .ggml(type), content: .pieces(pieces)))
        }
        let fileType = TypeRules.fileType(requested ?? dominantType(tensors))
        let metadata = try family.ggufMetadata(architecture, name: name, fileType: fileType)
        return (metadata, tensors, skipped)
    }

    /// `architecture` with what the converter reads from the model directory besides the
    /// configuration (`ModelFamily.prepareForGGUF`: Gemma 3's embedding rows).
    public static func prepared(_ architecture: ModelArchitecture, directory: String) throws -> ModelArchitecture {
        var architecture = architecture
        try ModelFamilies.family(of: architecture).prepareForGGUF(&architecture, directory: directory)
        return architecture
    }

    /// The source rows of a single tensor with the converter's transform applied.
    static func piece(_ view: TensorView, _ spec: TensorSpec) throws -> TensorPiece {
        switch spec.toGGUF {
        case .none: return TensorPiece(view: view)
        case .rotaryRowPermutation(let heads):
            return TensorPiece(view: view, rowOrder: RotaryRowOrder.llama(rows: view.shape[0], heads: heads))
        case .unitOffset:
            // convert_hf_to_gguf casts bfloat16 to float32 before adding, but adds to float16 as is.
            return TensorPiece(view: view, valueOffset: 1, offsetPrecision: view.dtype.ggmlType == .f16 ? .f16 : nil)
        case .firstRows(let rows): return TensorPiece(view: view, rows: 0..<rows)
        }
    }

    static func expectShape(_ view: TensorView, _ shape: [Int]) throws {
        guard view.shape == shape else { throw ConversionError.shapeMismatch(tensor: view.name, found: view.shape, expected: shape) }
    }

    /// convert_hf_to_gguf's choice for one tensor.
    static func outputType(name: String, shape: [Int], source: TensorDType, requested: GGMLType?) -> GGMLType {
        if TypeRules.staysF32(ggufName: name, dimensions: shape.count) { return .f32 }
        let wanted = requested ?? TypeRules.defaultType(for: source)
        return TypeRules.fitting(wanted, rowLength: shape.last ?? 1)
    }

    static func dominantType(_ tensors: [PlannedTensor]) -> GGMLType {
        tensors.first { $0.shape.count >= 2 }?.type.ggmlType ?? .f32
    }
}
