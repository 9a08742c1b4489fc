import WeightArchitecture

/// The weight tensors a model has according to its description alone: its family's tensor
/// schema (the parameter lists of transformers' modeling files, Meta's `llama/model.py`, seed
/// 002's ExpertModel), with the projections of identical layers counted as one group.
public enum AnalyticLayout {
    /// Every weight group of `architecture`.
    public static func groups(of architecture: ModelArchitecture) throws -> [WeightGroup] {
        let schema = try ModelFamilies.family(of: architecture).schema(architecture)
        // Identical tensors of different layers (same pattern name, shape and component) form one
        // group with a copy per layer, so that a budget of a 128-layer model stays small.
        var groups: [WeightGroup] = []
        var index: [String: Int] = [:]
        for spec in schema.tensors where spec.isParameter {
            let name = pattern(spec)
            let key = "\(name)|\(spec.shape)|\(spec.component)|\(spec.routing.map { "\($0.used)/\($0.count)" } ?? "")"
            if let existing = index[key] {
                groups[existing].copies += 1
                continue
            }
            index[key] = groups.count
            groups.append(WeightGroup(name: name, component: BudgetComponent(spec.component), shape: spec.shape, routing: spec.routing))
        }
        return groups.filter { $0.copies > 0 && $0.elementsPerCopy > 0 }
    }

    /// The tensor's Hugging Face name with its layer index as `*` (`model.layers.*.mlp.up_proj.weight`).
    static func pattern(_ spec: TensorSpec) -> String {
        let name: String
        switch spec.huggingFace {
        case .tensor(let full): name = full
        case .experts(let layout): name = layout.perExpert.first ?? layout.packed?.name ?? spec.gguf ?? "\(spec.role)"
        case .none: name = spec.gguf ?? "\(spec.role)"
        }
        guard let layer = spec.role.layer else { return name }
        return name.replacingOccurrences(of: ".\(layer).", with: ".*.")
    }
}

extension BudgetComponent {
    init(_ component: ParameterComponent) {
        self = BudgetComponent(rawValue: component.rawValue) ?? .other
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, let range = range(of: target) else { return self }
        return String(self[..<range.lowerBound]) + replacement + String(self[range.upperBound...])
    }

    private func range(of target: String) -> Range<String.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) { return index..<self.index(index, offsetBy: target.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
