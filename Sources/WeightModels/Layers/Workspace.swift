import WeightArchitecture
import WeightCompute
import WeightFormats

/// The sizes a model's blocks need scratch for, the largest over all layers.
struct WorkspaceShape {
    var hidden: Int
    /// Query, key and value widths (`heads * keySize`, `kvHeads * keySize`, `kvHeads * valueSize`),
    /// the key and value ones for the layer with the most KV heads.
    var query: Int, key: Int, value: Int
    /// The attention output before its projection (`heads * valueSize`).
    var attended: Int
    /// The widest feed-forward intermediate (a fused gate_up's output counts twice).
    var feedForward: Int

    init(hidden: Int, query: Int, key: Int, value: Int, attended: Int, feedForward: Int) {
        self.hidden = hidden
        self.query = query
        self.key = key
        self.value = value
        self.attended = attended
        self.feedForward = feedForward
    }

    /// The shape of a token stack's blocks.
    init(_ t: TextStack) {
        let kv = t.maxKVHeadCount
        hidden = t.hiddenSize
        query = t.headCount * t.keyLength
        key = kv * t.keyLength
        value = kv * t.valueLength
        attended = t.headCount * t.valueLength
        feedForward = max(t.feedForwardLength, t.experts?.feedForwardLength ?? 0)
    }
}

/// Scratch buffers for one forward call, allocated once and reused by every block. Sizes are
/// checked before anything is allocated.
struct Workspace {
    let residual, normed, query, key, value, attended, projected, scores: UnsafeMutablePointer<Float>
    /// Feed-forward intermediates; `gate` is twice as wide for a fused gate_up product.
    let gate, up: UnsafeMutablePointer<Float>
    /// A fused q/k/v product's output, when a block has one.
    let fused: UnsafeMutablePointer<Float>?
    let shape: WorkspaceShape

    /// - Parameters:
    ///   - tokens: rows run at once.
    ///   - length: positions the scores of one row cover (cache length, or tokens per sequence).
    ///   - fusedQKV: whether a block computes q, k and v in one product.
    init(_ shape: WorkspaceShape, tokens: Int, length: Int, fusedQKV: Bool = false) throws {
        self.shape = shape
        func count(_ factors: Int...) throws -> Int {
            var total = 1
            for factor in factors {
                let (product, overflow) = total.multipliedReportingOverflow(by: factor)
                guard !overflow, product <= Workspace.maxFloats else {
                    throw ModelError.tooLarge(what: "scratch for \(tokens) tokens", bytes: overflow ? Int.max : product * 4)
                }
                total = product
            }
            return total
        }
        // Cache-line aligned: the matrix-vector kernels load x 64 bytes at a time.
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
        }
        let sizes = (
            hidden: try count(tokens, shape.hidden), query: try count(tokens, shape.query), key: try count(tokens, shape.key),
            value: try count(tokens, shape.value), attended: try count(tokens, shape.attended), scores: try count(tokens, length),
            feedForward: try count(tokens, shape.feedForward, 2),
            fused: fusedQKV ? try count(tokens, shape.query + shape.key + shape.value) : 0)
        residual = buffer(sizes.hidden)
        normed = buffer(sizes.hidden)
        projected = buffer(sizes.hidden)
        query = buffer(sizes.query)
        key = buffer(sizes.key)
        value = buffer(sizes.value)
        attended = buffer(sizes.attended)
        scores = buffer(sizes.scores)
        gate = buffer(sizes.feedForward)
        up = buffer(sizes.feedForward / 2)
        fused = fusedQKV ? buffer(sizes.fused) : nil
    }

    /// The most floats one scratch buffer may hold (16 GiB): far beyond any model's needs, so
    /// that a corrupt size fails with an error instead of an allocation that cannot succeed.
    static let maxFloats = 1 << 32

    func deallocate() {
        for buffer in [residual, normed, query, key, value, attended, projected, scores, gate, up] { buffer.deallocate() }
        fused?.deallocate()
    }
}
