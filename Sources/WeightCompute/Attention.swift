import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightFormats

/// The sizes of one attention layer.
public struct AttentionShape: Sendable {
    public var heads: Int
    public var kvHeads: Int
    public var keySize: Int
    public var valueSize: Int
    /// Scores are multiplied by this (1 / √keySize unless the model says otherwise).
    public var scale: Float
    /// Whether position i may only attend to positions ≤ i.
    public var causal: Bool
    /// Sliding-window size: attend only to the last `window` positions (nil: all).
    public var window: Int?
    /// Scores are squashed to `cap · tanh(score / cap)` before the softmax (Gemma 2); nil: none.
    public var softCap: Float?

    public init(heads: Int, kvHeads: Int, keySize: Int, valueSize: Int, scale: Float? = nil, causal: Bool = true, window: Int? = nil,
                softCap: Float? = nil) {
        precondition(kvHeads > 0 && heads % kvHeads == 0, "query heads must be a multiple of key/value heads")
        self.heads = heads
        self.kvHeads = kvHeads
        self.keySize = keySize
        self.valueSize = valueSize
        self.scale = scale ?? 1 / Float(keySize).squareRoot()
        self.causal = causal
        self.window = window
        self.softCap = softCap
    }

    /// Applies the soft cap, if any, to `count` scores.
    @inline(__always)
    func cap(_ scores: UnsafeMutablePointer<Float>, count: Int) {
        guard let softCap else { return }
        for i in 0..<count { scores[i] = softCap * tanhf(scores[i] / softCap) }
    }
}

/// A KV cache whose size cannot be allocated.
public struct CacheSizeError: Error, Sendable, Equatable {
    public let capacity: Int
}

/// Keys and values of one layer for up to `capacity` positions, head-major
/// (`[kvHeads][capacity][size]`) so that each head's keys form one matrix for sgemm.
public final class KVCacheLayer {
    public let kvHeads: Int
    public let keySize: Int
    public let valueSize: Int
    public let capacity: Int
    public let keys: UnsafeMutablePointer<Float>
    public let values: UnsafeMutablePointer<Float>

    /// Allocates the layer's keys and values; throws when their size overflows or exceeds what
    /// one allocation may hold (`maxBytes`).
    public init(kvHeads: Int, keySize: Int, valueSize: Int, capacity: Int) throws {
        func floats(_ size: Int) throws -> Int {
            var total = 1
            for factor in [kvHeads, capacity, size] {
                let (product, overflow) = total.multipliedReportingOverflow(by: max(factor, 0))
                guard !overflow, product <= KVCacheLayer.maxBytes / 4 else { throw CacheSizeError(capacity: capacity) }
                total = product
            }
            return total
        }
        let keyCount = try floats(keySize), valueCount = try floats(valueSize)
        self.kvHeads = kvHeads
        self.keySize = keySize
        self.valueSize = valueSize
        self.capacity = capacity
        keys = .allocate(capacity: max(1, keyCount))
        values = .allocate(capacity: max(1, valueCount))
    }

    /// The most bytes one layer's keys (or values) may take: far beyond a real cache.
    public static let maxBytes = 1 << 36

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    /// Stores the keys and values of `count` tokens (rows of `[kvHeads * size]`) at positions
    /// `start ..< start + count`.
    public func store(keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>, start: Int, count: Int) {
        precondition(start + count <= capacity, "KV cache capacity exceeded")
        for token in 0..<count {
            for head in 0..<kvHeads {
                (keys + (head * capacity + start + token) * keySize)
                    .update(from: newKeys + token * kvHeads * keySize + head * keySize, count: keySize)
                (values + (head * capacity + start + token) * valueSize)
                    .update(from: newValues + token * kvHeads * valueSize + head * valueSize, count: valueSize)
            }
        }
    }
}

/// Multi-head attention of `count` query tokens at positions `start ..< start + count` over the
/// cached positions `0 ..< start + count`, with grouped key/value heads.
///
/// - Parameters:
///   - queries: `[count, heads * keySize]`.
///   - scores: scratch of at least `count * (start + count)` floats.
///   - output: `[count, heads * valueSize]`.
///   - context: context over heads (0: all cores).
public func attention(
    queries: UnsafePointer<Float>, cache: KVCacheLayer, start: Int, count: Int, shape: AttentionShape,
    scores: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>, context: ComputeContext
) {
    if count == 1 {
        singleQueryAttention(query: queries, cache: cache, position: start, shape: shape, into: output, context: context)
        return
    }
    let length = start + count
    let group = shape.heads / shape.kvHeads
    // Heads spread over the team, each with single-threaded products and its own scores, so
    // BLAS's workers do not wake for these small products and spin against the team's threads.
    let team = context.team
    do {
        team.forChunks(of: shape.heads, minimumChunk: 1) { heads in
            let headScores = heads.count == shape.heads ? scores : context.scratch.take(count * length)
            defer { if headScores != scores { context.scratch.give(headScores, capacity: count * length) } }
            for head in heads {
                attendPrefillHead(head, kvHead: head / group, queries: queries, cache: cache, start: start, count: count,
                                  shape: shape, scores: headScores, into: output)
            }
        }
    }
}

/// One head of prefill attention: scores = scale · Q_h · K_hᵀ (masked), softmax by rows, P · V_h.
@inline(__always)
func attendPrefillHead(
    _ head: Int, kvHead: Int, queries: UnsafePointer<Float>, cache: KVCacheLayer, start: Int, count: Int,
    shape: AttentionShape, scores: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>
) {
    let length = start + count
    // scores[count, length] = scale * Q_h · K_hᵀ
    BLAS.multiplyTransposed(
        m: count, n: length, k: shape.keySize, alpha: shape.scale,
        a: queries + head * shape.keySize, lda: shape.heads * shape.keySize,
        b: cache.keys + kvHead * cache.capacity * shape.keySize, ldb: shape.keySize,
        c: scores, ldc: length)
    shape.cap(scores, count: count * length)
    for row in 0..<count {
        let position = start + row
        let line = scores + row * length
        if shape.causal {
            for column in (position + 1)..<max(position + 1, length) { line[column] = -.infinity }
        }
        if let window = shape.window, position - window >= 0 {
            for column in 0...(position - window) { line[column] = -.infinity }
        }
        softmax(line, count: length)
    }
    // out_h[count, valueSize] = P · V_h
    BLAS.multiply(
        m: count, n: shape.valueSize, k: length,
        a: scores, lda: length,
        b: cache.values + kvHead * cache.capacity * shape.valueSize, ldb: shape.valueSize,
        c: output + head * shape.valueSize, ldc: shape.heads * shape.valueSize)
}

/// Attention of one query token at `position` (decode) over the cached positions `0 ... position`:
/// the dot products and the weighted sum of values in plain loops, where sgemm calls on
/// one-row matrices would cost more than the arithmetic (and wake BLAS's threads per head).
/// Heads are spread over threads once the context is long enough to pay for it.
func singleQueryAttention(
    query: UnsafePointer<Float>, cache: KVCacheLayer, position: Int, shape: AttentionShape,
    into output: UnsafeMutablePointer<Float>, context: ComputeContext
) {
    let length = position + 1
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: shape.heads * length)
    defer { scores.deallocate() }
    let parallel = shape.heads * length * shape.keySize >= singleQueryParallelWork
    let team = context.team(parallel: parallel)
    let dot = context.kernels.c.dot_f32
    team.forChunks(of: shape.heads, minimumChunk: 1) { heads in
        for head in heads {
            attendOneHead(head, query: query, cache: cache, position: position, shape: shape,
                          scores: scores + head * length, into: output, dot: dot)
        }
    }
}

/// Multiply-adds (heads x positions x key size) from which single-query attention is split over
/// threads: below it a team loop costs more than it saves.
let singleQueryParallelWork = 1 << 15

/// One head of `singleQueryAttention`; `scores` holds `position + 1` floats.
@inline(__always)
func attendOneHead(
    _ head: Int, query: UnsafePointer<Float>, cache: KVCacheLayer, position: Int, shape: AttentionShape,
    scores: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>,
    dot: @convention(c) (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float
) {
    let length = position + 1
    let kvHead = head / (shape.heads / shape.kvHeads)
    let visible = shape.window.map { max(0, position - $0 + 1) } ?? 0
    let q = query + head * shape.keySize
    let keys = cache.keys + kvHead * cache.capacity * shape.keySize
    let values = cache.values + kvHead * cache.capacity * shape.valueSize
    // scores[length] = scale * q_h · K_hᵀ, positions before the window masked.
    for column in 0..<visible { scores[column] = -.infinity }
    for column in visible..<length {
        scores[column] = shape.scale * dot(q, keys + column * shape.keySize, shape.keySize)
    }
    shape.cap(scores + visible, count: length - visible)
    softmax(scores, count: length)
    // out_h[valueSize] = Σ_j p_j · V_h[j]
    let out = output + head * shape.valueSize
    out.update(repeating: 0, count: shape.valueSize)
    for column in visible..<length {
        let p = scores[column], value = values + column * shape.valueSize
        for i in 0..<shape.valueSize { out[i] += p * value[i] }
    }
}

/// Bidirectional (non-causal) multi-head attention of `queryCount` queries over `keyCount` keys,
/// every query seeing every key, as vision encoders attend over image patches.
///
/// Rows are tokens and head `h` occupies columns `h * size ..< (h + 1) * size` of each row.
/// Query and key head counts are equal (`shape.kvHeads` is ignored beyond grouping).
///
/// - Parameters:
///   - queries: `[queryCount, heads * keySize]`.
///   - keys: `[keyCount, kvHeads * keySize]`.
///   - values: `[keyCount, kvHeads * valueSize]`.
///   - scores: scratch of at least `queryCount * keyCount` floats.
///   - output: `[queryCount, heads * valueSize]`.
///   - context: context for the heads (0: all cores).
public func bidirectionalAttention(
    queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    queryCount: Int, keyCount: Int, shape: AttentionShape, scores: UnsafeMutablePointer<Float>,
    into output: UnsafeMutablePointer<Float>, context: ComputeContext
) {
    let group = shape.heads / shape.kvHeads
    let queryStride = shape.heads * shape.keySize
    let keyStride = shape.kvHeads * shape.keySize, valueStride = shape.kvHeads * shape.valueSize
    // Heads spread over the team, each with single-threaded products and its own scores, as in
    // causal prefill: the matrix products around this run on the team's threads, and BLAS's
    // own workers waking for every head would spin against them.
    let team = context.team
    do {
        team.forChunks(of: shape.heads, minimumChunk: 1) { heads in
            let size = queryCount * keyCount
            let headScores = heads.count == shape.heads ? scores : context.scratch.take(size)
            defer { if headScores != scores { context.scratch.give(headScores, capacity: size) } }
            for head in heads {
                let kvHead = head / group
                // scores[queryCount, keyCount] = scale * Q_h · K_hᵀ
                BLAS.multiplyTransposed(
                    m: queryCount, n: keyCount, k: shape.keySize, alpha: shape.scale,
                    a: queries + head * shape.keySize, lda: queryStride,
                    b: keys + kvHead * shape.keySize, ldb: keyStride, c: headScores, ldc: keyCount)
                shape.cap(headScores, count: queryCount * keyCount)
                for row in 0..<queryCount { softmax(headScores + row * keyCount, count: keyCount) }
                // out_h[queryCount, valueSize] = P · V_h
                BLAS.multiply(
                    m: queryCount, n: shape.valueSize, k: keyCount, a: headScores, lda: keyCount,
                    b: values + kvHead * shape.valueSize, ldb: valueStride,
                    c: output + head * shape.valueSize, ldc: shape.heads * shape.valueSize)
            }
        }
    }
}

/// Bidirectional attention within each of several sequences packed one after another (texts
/// of different lengths in one batch): the rows of `sequences[i]` attend to those rows only,
/// what an attention mask over a padded batch computes, without the padding. Every (sequence,
/// head) pair is one item of a single loop over the context's threads, each with
/// single-threaded products and its own scores, so a batch of short texts costs one wake-up
/// of the team per layer rather than one per text.
///
/// - Parameters:
///   - queries: `[rows, heads * keySize]`; keys `[rows, kvHeads * keySize]`; values
///     `[rows, kvHeads * valueSize]`, rows being the packed tokens.
///   - sequences: consecutive, non-overlapping row ranges.
///   - output: `[rows, heads * valueSize]`.
public func packedBidirectionalAttention(
    queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
    sequences: [Range<Int>], shape: AttentionShape, into output: UnsafeMutablePointer<Float>, context: ComputeContext
) {
    let group = shape.heads / shape.kvHeads
    let queryStride = shape.heads * shape.keySize
    let keyStride = shape.kvHeads * shape.keySize, valueStride = shape.kvHeads * shape.valueSize
    let outputStride = shape.heads * shape.valueSize
    let longest = sequences.map(\.count).max() ?? 0
    let items = sequences.count * shape.heads
    guard longest > 0 else { return }
    let work = sequences.reduce(0) { $0 + $1.count * $1.count } * shape.heads * (shape.keySize + shape.valueSize)
    let size = longest * longest
    context.team(parallel: work >= 1 << 16).forChunks(of: items, minimumChunk: 1) { part in
        let scores = context.scratch.take(size)
        defer { context.scratch.give(scores, capacity: size) }
        for item in part {
            let sequence = sequences[item / shape.heads], head = item % shape.heads
            let n = sequence.count
            if n == 0 { continue }
            let first = sequence.lowerBound, kvHead = head / group
            // scores[n, n] = scale * Q_h · K_hᵀ
            BLAS.multiplyTransposed(
                m: n, n: n, k: shape.keySize, alpha: shape.scale,
                a: queries + first * queryStride + head * shape.keySize, lda: queryStride,
                b: keys + first * keyStride + kvHead * shape.keySize, ldb: keyStride, c: scores, ldc: n)
            shape.cap(scores, count: n * n)
            for row in 0..<n { context.kernels.c.softmax(scores + row * n, n) }
            // out_h[n, valueSize] = P · V_h
            BLAS.multiply(
                m: n, n: shape.valueSize, k: n, a: scores, lda: n,
                b: values + first * valueStride + kvHead * shape.valueSize, ldb: valueStride,
                c: output + first * outputStride + head * shape.valueSize, ldc: outputStride)
        }
    }
}
