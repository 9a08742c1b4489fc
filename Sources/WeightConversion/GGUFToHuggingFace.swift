import WeightArchitecture
import WeightFormats

/// Plans a GGUF checkpoint's conversion back to Hugging Face (or Meta) names and layout, from
/// the family's tensor schema: the reverse of `HuggingFaceToGGUF` (names mapped back, the llama
/// Q/K permutation undone, Gemma's norm offset taken off, stacked experts split into
/// transformers' per-expert tensors) and the family's config.json (params.json for Meta's).
public enum GGUFToHuggingFace {
    /// - Parameter requested: the float type of every tensor (nil: float tensors keep their
    ///   type, block types become F32).
    public static func plan(checkpoint: Checkpoint, architecture: ModelArchitecture, requested: GGMLType?) throws
        -> (config: JSONObject, configName: String, tensors: [PlannedTensor], skipped: [String])
    {
        let family = try ModelFamilies.family(of: architecture)
        guard family.writesGGUF else {
            throw ConversionError.unsupportedArchitecture(name: architecture.modelType, supported: HuggingFaceToGGUF.supportedModelTypes)
        }
        let schema = try family.schema(architecture)
        var tensors: [PlannedTensor] = []
        var skipped: [String] = []
        func type(for view: TensorView) -> TensorDType {
            .ggml(requested ?? TypeRules.defaultType(for: view.dtype))
        }
        for view in checkpoint.tensors {
            guard let spec = schema.spec(gguf: view.name) else {
                skipped.append(view.name)
                continue
            }
            switch spec.huggingFace {
            case .tensor(let name):
                var piece = TensorPiece(view: view)
                switch spec.toGGUF {
                case .rotaryRowPermutation(let heads):
                    piece = TensorPiece(view: view, rowOrder: RotaryRowOrder.llamaInverse(rows: view.shape[0], heads: heads))
                case .unitOffset: piece = TensorPiece(view: view, valueOffset: -1)
                case .none, .firstRows: break
                }
                tensors.append(PlannedTensor(name: name, shape: view.shape, type: type(for: view), content: .pieces([piece])))
            case .experts(let layout):
                // transformers 4.x names: one tensor per expert.
                let rowsPerExpert = view.shape.count == 3 ? view.shape[1] : 0
                guard rowsPerExpert > 0, layout.perExpert.count == view.shape[0] else {
                    throw ConversionError.shapeMismatch(tensor: view.name, found: view.shape, expected: spec.shape)
                }
                for (expert, name) in layout.perExpert.enumerated() {
                    let piece = TensorPiece(view: view, rows: (expert * rowsPerExpert)..<((expert + 1) * rowsPerExpert))
                    tensors.append(PlannedTensor(name: name, shape: Array(view.shape.dropFirst()), type: type(for: view), content: .pieces([piece])))
                }
            case .none:
                skipped.append(view.name)
            }
        }
        let dtype = requested ?? tensors.first { $0.shape.count >= 2 }?.type.ggmlType ?? .f32
        let names: [GGMLType: String] = [.f32: "float32", .f16: "float16", .bf16: "bfloat16"]
        let config = try family.huggingFaceConfig(architecture, dtype: names[dtype] ?? "float32")
        return (config, family.configFileName, tensors, skipped)
    }
}
