import WeightArchitecture

/// Floating-point operations per token of a decoder's forward pass (matrix multiplies and
/// attention scores; norms, activations and biases are negligible and left out).
public struct FlopsBudget: Sendable, Equatable {
    /// Per token when prefilling a prompt of `prefillContext` tokens: the weights' 2 FLOPs per
    /// active parameter plus causal attention averaged over the prompt.
    public var prefill: Int
    public var prefillContext: Int
    /// Per token generated at each position (the token attends to `context` cached tokens).
    public var decode: [(context: Int, flops: Int)]

    /// - Parameters:
    ///   - text: the decoder stack.
    ///   - groups: its weight groups (for the active matrix parameters).
    ///   - contexts: positions to report decode costs at (the first also sets the prefill prompt).
    public init(text: TextStack, groups: [WeightGroup], contexts: [Int]) throws {
        let weights = try Checked.multiply(2, FlopsBudget.activeMatrixParameters(text: text, groups: groups), what: "FLOPs per token")
        func attention(_ context: Int, average: Bool) throws -> Int {
            try (0..<text.layerCount).reduce(0) { total, layer in
                var attended = min(context, text.span(layer: layer) == .sliding ? (text.slidingWindow ?? context) : context)
                if average { attended = attended / 2 + attended % 2 }
                let what = "FLOPs per token at \(context) tokens"
                return try Checked.add(total, try Checked.multiply(2, text.headCount, text.keyLength + text.valueLength, attended, what: what), what: what)
            }
        }
        prefillContext = contexts.first ?? text.contextLength
        prefill = try Checked.add(weights, try attention(prefillContext, average: true), what: "prefill FLOPs per token")
        decode = try contexts.map { ($0, try Checked.add(weights, try attention($0, average: false), what: "decode FLOPs per token")) }
    }

    /// Matrix parameters one token multiplies with: the text stack's projections, the routed
    /// experts it uses, and the output head once per prediction head (the embedding matrix when tied).
    static func activeMatrixParameters(text: TextStack, groups: [WeightGroup]) -> Int {
        let decoderParts: Set<BudgetComponent> = [.attention, .mlp, .experts, .router, .mtpHeads, .outputHead]
        var total = 0
        for group in groups where group.isMatrix && decoderParts.contains(group.component) {
            if let routing = group.routing, routing.count > 0 {
                total += group.elements / routing.count * routing.used
            } else {
                total += group.elements
            }
        }
        let heads = text.futureTokens ?? 1
        let head = text.vocabularySize * text.hiddenSize
        if text.hasOutputHead {
            total += text.tiedEmbeddings ? head * heads : head * (heads - 1)
        }
        return total
    }

    public static func == (lhs: FlopsBudget, rhs: FlopsBudget) -> Bool {
        lhs.prefill == rhs.prefill && lhs.prefillContext == rhs.prefillContext
            && lhs.decode.map(\.context) == rhs.decode.map(\.context) && lhs.decode.map(\.flops) == rhs.decode.map(\.flops)
    }
}
