/// Parameter counts of a model: total, active per token (MoE), without embeddings, and by component.
public struct ParameterBreakdown: Sendable, Equatable {
    public var total: Int
    /// Parameters a token passes through: the total minus the routed experts it does not use.
    public var active: Int
    /// The total minus the embedding tables (token, position, token type).
    public var nonEmbedding: Int
    /// Components in a fixed order, those with no parameters left out.
    public var byComponent: [(component: BudgetComponent, count: Int)]
    /// Whether the counts come from a checkpoint's tensors (true) or the configuration alone.
    public var fromTensors: Bool

    /// Sums `groups`.
    public init(groups: [WeightGroup], fromTensors: Bool) {
        var sums: [BudgetComponent: Int] = [:]
        var routed: [String: (elements: Int, used: Int, count: Int)] = [:]
        for group in groups {
            sums[group.component, default: 0] += group.elements
            if let routing = group.routing, routing.count > 0 {
                let key = "\(routing.used)/\(routing.count)"
                routed[key, default: (0, routing.used, routing.count)].elements += group.elements
            }
        }
        total = sums.values.reduce(0, +)
        // Unused experts: every expert has the same shape, so the routed total divides by the count.
        let inactive = routed.values.reduce(0) { $0 + $1.elements / $1.count * ($1.count - $1.used) }
        active = total - inactive
        nonEmbedding = total - (sums[.embedding] ?? 0)
        byComponent = BudgetComponent.allCases.compactMap { component in
            guard let count = sums[component], count > 0 else { return nil }
            return (component, count)
        }
        self.fromTensors = fromTensors
    }

    /// The count of one component (0 when absent).
    public func count(of component: BudgetComponent) -> Int {
        byComponent.first { $0.component == component }?.count ?? 0
    }

    public static func == (lhs: ParameterBreakdown, rhs: ParameterBreakdown) -> Bool {
        lhs.total == rhs.total && lhs.active == rhs.active && lhs.nonEmbedding == rhs.nonEmbedding
            && lhs.byComponent.map(\.component) == rhs.byComponent.map(\.component)
            && lhs.byComponent.map(\.count) == rhs.byComponent.map(\.count) && lhs.fromTensors == rhs.fromTensors
    }
}
