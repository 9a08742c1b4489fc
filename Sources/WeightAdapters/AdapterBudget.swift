/// What a real adapter costs (`budget MODEL --lora ADAPTER`): its largest rank, the module
/// kinds it targets, its parameters (A, B, DoRA magnitudes, replaced tensors), their bytes in
/// float32 as `run --lora` holds them, and the FLOPs per token of applying it unmerged: per
/// module `2·r·in` for `A x` and `2·out·r` for `B (A x)`, plus `out` for DoRA's row scale; an
/// embedding's update is one looked-up row of B times A, `2·r·hidden` (a replaced tensor costs
/// what the base's did).
public struct AdapterBudget: Sendable, Equatable {
    public let rank: Int
    /// Module names' last components (`q_proj`, `attn_q`...), in first-seen order.
    public let targets: [String]
    public let parameters: Int
    public let bytes: Int
    public let flopsPerToken: Int

    public init(_ adapter: LoRAAdapter) {
        rank = adapter.rank
        var targets: [String] = []
        for name in adapter.modules.map(\.name) + adapter.replacements.map({ String($0.name.dropLast(".weight".count)) }) {
            let last = String(name.split(separator: ".").last ?? Substring(name))
            if !targets.contains(last) { targets.append(last) }
        }
        self.targets = targets
        parameters = adapter.parameterCount
        bytes = parameters * 4
        flopsPerToken = adapter.modules.reduce(0) { total, module in
            if module.isEmbedding { return total + 2 * module.rank * module.inputs }
            return total + 2 * module.rank * (module.inputs + module.outputs) + (module.magnitude != nil ? module.outputs : 0)
        }
    }
}
