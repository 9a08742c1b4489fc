import WeightCompute

/// Which positions' logits a forward pass returns.
public enum LogitsSelection: Sendable {
    /// Every position: `[tokens, vocabulary]`.
    case all
    /// Only the last position: `[vocabulary]`.
    case last
}

/// The keys and values of every layer for one sequence, and how many positions they hold.
public final class KVCache {
    public let layers: [KVCacheLayer]
    public let capacity: Int
    /// Positions stored so far; the next token goes at this position.
    public internal(set) var length = 0

    public init(layers: [KVCacheLayer], capacity: Int) {
        self.layers = layers
        self.capacity = capacity
    }

    /// Forgets everything after `length` positions (speculative decoding rolls back this way).
    public func truncate(to length: Int) {
        precondition(length <= self.length, "cannot extend a cache by truncating")
        self.length = length
    }
}

/// A model that maps token ids to next-token logits, one sequence at a time, with a KV cache.
public protocol CausalLanguageModel: AnyObject {
    var vocabularySize: Int { get }
    /// The trained context length (the largest useful cache).
    var contextLength: Int { get }
    /// Threads for the model's own kernels (0: all cores).
    var threads: Int { get set }

    func makeCache(capacity: Int) -> KVCache

    /// Runs `tokens` at positions `cache.length ..< cache.length + tokens.count`, appends their
    /// keys and values to the cache and returns the selected logits.
    func forward(_ tokens: [Int], cache: KVCache, logits: LogitsSelection) throws -> [Float]
}

extension CausalLanguageModel {
    /// Logits `[tokens.count, vocabulary]` for every position of a prompt, from an empty cache.
    public func logits(for tokens: [Int]) throws -> [Float] {
        let cache = makeCache(capacity: tokens.count)
        return try forward(tokens, cache: cache, logits: .all)
    }
}
