import WeightArchitecture

/// How a decoder shares key/value heads among its query heads, and what that saves in KV cache
/// against multi-head attention (one KV head per query head) at the same head sizes.
public struct AttentionKind: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// Multi-head attention: as many KV heads as query heads.
        case mha = "MHA"
        /// Grouped-query attention: several query heads per KV head.
        case gqa = "GQA"
        /// Multi-query attention: one KV head for all query heads.
        case mqa = "MQA"
    }

    public var kind: Kind
    /// Query heads per KV head; nil when layers differ (per-layer KV head counts).
    public var queryHeadsPerKVHead: Int?
    /// The share of MHA's KV cache this layout does not need: 1 − Σ KV heads / (layers × heads).
    public var kvSavingVersusMHA: Double

    public init(_ text: TextStack) {
        let kvHeads = text.layerCount > 0 ? (0..<text.layerCount).map(text.kvHeads(layer:)) : [text.kvHeadCount]
        let layers = kvHeads.count, heads = text.headCount
        let uniform = Set(kvHeads).count == 1
        queryHeadsPerKVHead = uniform && kvHeads[0] > 0 ? heads / kvHeads[0] : nil
        if kvHeads.allSatisfy({ $0 == heads }) {
            kind = .mha
        } else if kvHeads.allSatisfy({ $0 == 1 }) {
            kind = .mqa
        } else {
            kind = .gqa
        }
        let total = kvHeads.reduce(0, +)
        kvSavingVersusMHA = heads > 0 ? 1 - Double(total) / Double(layers * heads) : 0
    }

    /// "MHA", "GQA 4:1", "MQA", "GQA (per layer)".
    public var label: String {
        switch kind {
        case .mha, .mqa: kind.rawValue
        case .gqa: queryHeadsPerKVHead.map { "GQA \($0):1" } ?? "GQA (per layer)"
        }
    }
}
