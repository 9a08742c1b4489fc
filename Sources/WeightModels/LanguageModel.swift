import WeightFormats
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

    /// A cache for layers of these attention shapes, `capacity` positions each; throws before
    /// allocating when the size is out of reach.
    public convenience init(layers shapes: [AttentionShape], capacity: Int) throws {
        guard capacity >= 1 else { throw ModelError.invalidArgument("a KV cache needs at least one position (got \(capacity))") }
        var bytes = 0
        for shape in shapes {
            let (perPosition, overflowA) = (shape.kvHeads * (shape.keySize + shape.valueSize)).multipliedReportingOverflow(by: 4)
            let (layer, overflowB) = perPosition.multipliedReportingOverflow(by: capacity)
            let (total, overflowC) = bytes.addingReportingOverflow(layer)
            guard !overflowA, !overflowB, !overflowC else { throw ModelError.tooLarge(what: "a KV cache of \(capacity) positions", bytes: Int.max) }
            bytes = total
        }
        guard bytes <= MappedFile.physicalMemory else {
            throw ModelError.tooLarge(what: "a KV cache of \(capacity) positions", bytes: bytes)
        }
        do {
            self.init(layers: try shapes.map {
                try KVCacheLayer(kvHeads: $0.kvHeads, keySize: $0.keySize, valueSize: $0.valueSize, capacity: capacity)
            }, capacity: capacity)
        } catch is CacheSizeError {
            throw ModelError.tooLarge(what: "a KV cache of \(capacity) positions", bytes: bytes)
        }
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
    /// The threads, scratch memory and kernels the model computes with.
    var context: ComputeContext { get }

    /// An empty cache for up to `capacity` positions (throws when that cannot be allocated).
    func makeCache(capacity: Int) throws -> KVCache

    /// Runs `tokens` at positions `cache.length ..< cache.length + tokens.count`, appends their
    /// keys and values to the cache and returns the selected logits.
    func forward(_ tokens: [Int], cache: KVCache, logits: LogitsSelection) throws -> [Float]
}

extension CausalLanguageModel {
    /// Logits `[tokens.count, vocabulary]` for every position of a prompt, from an empty cache.
    public func logits(for tokens: [Int]) throws -> [Float] {
        let cache = try makeCache(capacity: tokens.count)
        return try forward(tokens, cache: cache, logits: .all)
    }
}
