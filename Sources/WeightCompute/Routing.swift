/// Mixture-of-experts routing: the top-k experts of a token and their weights.
public struct ExpertRoute: Sendable, Equatable {
    public var experts: [Int]
    public var weights: [Float]
}

/// Picks the `k` largest router logits.
///
/// - Parameters:
///   - softmaxFirst: softmax over all experts before choosing (Qwen-MoE, Mixtral's weights are
///     then the chosen probabilities); otherwise the chosen logits are softmaxed among themselves.
///   - normalize: rescale the chosen probabilities to sum to one (`norm_topk_prob`).
public func routeTopK(logits: UnsafePointer<Float>, count: Int, k: Int, softmaxFirst: Bool, normalize: Bool) -> ExpertRoute {
    var probabilities = Array(UnsafeBufferPointer(start: logits, count: count))
    if softmaxFirst { probabilities.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) } }
    // Ties go to the lower index, as torch.topk does on CPU for equal values.
    let order = (0..<count).sorted { probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : $0 < $1 }
    let chosen = Array(order.prefix(k))
    var weights = chosen.map { probabilities[$0] }
    if !softmaxFirst {
        weights.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: $0.count) }
    } else if normalize {
        let sum = weights.reduce(0, +)
        weights = weights.map { $0 / sum }
    }
    return ExpertRoute(experts: chosen, weights: weights)
}
