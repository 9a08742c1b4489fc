import WeightArchitecture
import WeightCompute
import WeightFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The expert language model of seed 002 (`model_type: "expert_lm"`), mirroring its PyTorch
/// module step by step (state-dict names in Docs/EXPERT_LM.md):
///
///     x = token_embedding(ids) + PE[positions]           sinusoidal, not learned
///     for each block:  x = x + attention(norm1(x))        multi-head, causal, with biases
///                      x = x + fc2(gelu(fc1(norm2(x))))   exact GELU, with biases
///     logits = lm_head(final_norm(x))                     untied, no bias
///
/// The positional table is computed; a checkpoint may carry it as the buffer
/// `positional_encoding.pe`, which is then checked against the computed table.
public final class ExpertLanguageModel: CausalLanguageModel {
    public let architecture: TextStack
    public var threads: Int = 0

    let embedding: WeightMatrix
    let positions: [Float]
    let blocks: [ExpertBlock]
    let finalNorm: (weight: [Float], bias: [Float])
    let outputHead: WeightMatrix

    public var vocabularySize: Int { architecture.vocabularySize }
    public var contextLength: Int { architecture.contextLength }

    /// The largest difference allowed between a stored positional table and the computed one
    /// (float32 sines of large arguments differ from exact ones by up to a few 1e-5).
    static let positionTolerance: Float = 1e-3

    init(architecture: TextStack, checkpoint: Checkpoint, kernels: Kernels = .best) throws {
        self.architecture = architecture
        let d = architecture.hiddenSize, feedForward = architecture.feedForwardLength
        let binder = WeightBinder(checkpoint: checkpoint, model: "expert_lm", kernels: kernels)
        let embedding = try binder.matrix("token_embedding.weight", rows: architecture.vocabularySize, columns: d)
        var blocks: [ExpertBlock] = []
        for index in 0..<architecture.layerCount {
            let p = "transformer_blocks.\(index)."
            let block = ExpertBlock(
                norm1: (try binder.vector(p + "norm1.weight", count: d), try binder.vector(p + "norm1.bias", count: d)),
                query: (try binder.matrix(p + "attention.q_proj.weight", rows: d, columns: d), try binder.vector(p + "attention.q_proj.bias", count: d)),
                key: (try binder.matrix(p + "attention.k_proj.weight", rows: d, columns: d), try binder.vector(p + "attention.k_proj.bias", count: d)),
                value: (try binder.matrix(p + "attention.v_proj.weight", rows: d, columns: d), try binder.vector(p + "attention.v_proj.bias", count: d)),
                output: (try binder.matrix(p + "attention.out_proj.weight", rows: d, columns: d), try binder.vector(p + "attention.out_proj.bias", count: d)),
                norm2: (try binder.vector(p + "norm2.weight", count: d), try binder.vector(p + "norm2.bias", count: d)),
                fc1: (try binder.matrix(p + "feed_forward.fc1.weight", rows: feedForward, columns: d), try binder.vector(p + "feed_forward.fc1.bias", count: feedForward)),
                fc2: (try binder.matrix(p + "feed_forward.fc2.weight", rows: d, columns: feedForward), try binder.vector(p + "feed_forward.fc2.bias", count: d)))
            if let block { blocks.append(block) }
        }
        let normWeight = try binder.vector("final_norm.weight", count: d)
        let normBias = try binder.vector("final_norm.bias", count: d)
        let head = try binder.matrix("lm_head.weight", rows: architecture.vocabularySize, columns: d)
        let table = Self.sinusoidalTable(positions: architecture.contextLength, size: d)
        let stored = "positional_encoding.pe"
        if binder.has(stored), let buffer = binder.tensor(stored, shape: [1, architecture.contextLength, d]) {
            let values = try buffer.floats()
            let worst = zip(values, table).map { abs($0 - $1) }.max() ?? 0
            guard worst <= Self.positionTolerance else {
                throw ModelError.invalidArgument(
                    "\(stored) differs from the sinusoidal table by up to \(worst) (allowed \(Self.positionTolerance)): not an expert_lm positional table")
            }
        }
        try binder.finish()
        self.embedding = embedding!
        self.blocks = blocks
        self.finalNorm = (normWeight!, normBias!)
        self.outputHead = head!
        self.positions = table
    }

    /// PE(pos, 2i) = sin(pos · 10000^(−2i/d)), PE(pos, 2i+1) = cos(...), computed in Double.
    static func sinusoidalTable(positions: Int, size: Int) -> [Float] {
        var table = [Float](repeating: 0, count: positions * size)
        for position in 0..<positions {
            for i in stride(from: 0, to: size, by: 2) {
                let angle = Double(position) * exp(Double(i) * -log(10000.0) / Double(size))
                table[position * size + i] = Float(sin(angle))
                if i + 1 < size { table[position * size + i + 1] = Float(cos(angle)) }
            }
        }
        return table
    }

    public func makeCache(capacity: Int) -> KVCache {
        let a = architecture
        return KVCache(layers: (0..<a.layerCount).map { _ in
            KVCacheLayer(kvHeads: a.headCount, keySize: a.keyLength, valueSize: a.valueLength, capacity: capacity)
        }, capacity: capacity)
    }

    public func forward(_ tokens: [Int], cache: KVCache, logits selection: LogitsSelection) throws -> [Float] {
        let count = tokens.count, start = cache.length, d = architecture.hiddenSize
        guard count > 0 else { return [] }
        guard start + count <= min(cache.capacity, contextLength) else {
            throw ModelError.contextExceeded(length: start + count, capacity: min(cache.capacity, contextLength))
        }
        for token in tokens where token < 0 || token >= vocabularySize {
            throw ModelError.invalidToken(token: token, vocabularySize: vocabularySize)
        }
        let x = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer { x.deallocate(); normed.deallocate() }

        // 1. Token embeddings plus the positional table.
        positions.withUnsafeBufferPointer { table in
            for (t, token) in tokens.enumerated() {
                embedding.decodeRow(token, into: x + t * d)
                addInPlace(x + t * d, table.baseAddress! + (start + t) * d, d)
            }
        }
        // 2. Pre-LN blocks.
        let shape = AttentionShape(heads: architecture.headCount, kvHeads: architecture.headCount,
                                   keySize: architecture.keyLength, valueSize: architecture.valueLength)
        for (index, block) in blocks.enumerated() {
            block.forward(x, tokens: count, start: start, cache: cache.layers[index], shape: shape,
                          epsilon: Float(architecture.normEpsilon), feedForward: architecture.feedForwardLength, threads: threads)
        }
        cache.length = start + count
        // 3. Final norm and LM head.
        let rows = selection == .all ? count : 1
        let first = selection == .all ? 0 : count - 1
        layerNorm(rows: rows, x + first * d, weight: finalNorm.weight, bias: finalNorm.bias,
                  epsilon: Float(architecture.normEpsilon), count: d, into: normed)
        var logits = [Float](repeating: 0, count: rows * vocabularySize)
        logits.withUnsafeMutableBufferPointer { outputHead.apply(normed, count: rows, into: $0.baseAddress!, threads: threads) }
        return logits
    }
}

/// One pre-LN block of the expert LM.
struct ExpertBlock {
    typealias Linear = (weight: WeightMatrix, bias: [Float])
    typealias Norm = (weight: [Float], bias: [Float])
    var norm1: Norm, query: Linear, key: Linear, value: Linear, output: Linear, norm2: Norm, fc1: Linear, fc2: Linear

    /// Builds a block when every tensor was bound (the binder reports what is missing).
    init?(norm1: ([Float]?, [Float]?), query: (WeightMatrix?, [Float]?), key: (WeightMatrix?, [Float]?),
          value: (WeightMatrix?, [Float]?), output: (WeightMatrix?, [Float]?), norm2: ([Float]?, [Float]?),
          fc1: (WeightMatrix?, [Float]?), fc2: (WeightMatrix?, [Float]?)) {
        guard let n1w = norm1.0, let n1b = norm1.1, let qw = query.0, let qb = query.1, let kw = key.0, let kb = key.1,
              let vw = value.0, let vb = value.1, let ow = output.0, let ob = output.1, let n2w = norm2.0, let n2b = norm2.1,
              let f1w = fc1.0, let f1b = fc1.1, let f2w = fc2.0, let f2b = fc2.1
        else { return nil }
        self.norm1 = (n1w, n1b); self.query = (qw, qb); self.key = (kw, kb); self.value = (vw, vb)
        self.output = (ow, ob); self.norm2 = (n2w, n2b); self.fc1 = (f1w, f1b); self.fc2 = (f2w, f2b)
    }

    func forward(_ x: UnsafeMutablePointer<Float>, tokens count: Int, start: Int, cache: KVCacheLayer, shape: AttentionShape,
                 epsilon: Float, feedForward: Int, threads: Int) {
        let d = query.weight.columns
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let q = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let k = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let attended = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: count * feedForward)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: count * (start + count))
        defer { for buffer in [normed, q, k, v, attended, hidden, scores] { buffer.deallocate() } }

        // x = x + out_proj(attention(norm1(x)))
        layerNorm(rows: count, x, weight: norm1.weight, bias: norm1.bias, epsilon: epsilon, count: d, into: normed)
        for (linear, output) in [(query, q), (key, k), (value, v)] {
            linear.weight.apply(normed, count: count, into: output, threads: threads)
            addBias(linear.bias, to: output, rows: count, width: d)
        }
        cache.store(keys: k, values: v, start: start, count: count)
        attention(queries: q, cache: cache, start: start, count: count, shape: shape, scores: scores, into: attended, threads: threads,
                  kernels: query.weight.kernels)
        output.weight.apply(attended, count: count, into: normed, threads: threads)
        addBias(output.bias, to: normed, rows: count, width: d)
        addInPlace(x, normed, count * d)

        // x = x + fc2(gelu(fc1(norm2(x))))
        layerNorm(rows: count, x, weight: norm2.weight, bias: norm2.bias, epsilon: epsilon, count: d, into: normed)
        fc1.weight.apply(normed, count: count, into: hidden, threads: threads)
        addBias(fc1.bias, to: hidden, rows: count, width: feedForward)
        gelu(hidden, count: count * feedForward)
        fc2.weight.apply(hidden, count: count, into: normed, threads: threads)
        addBias(fc2.bias, to: normed, rows: count, width: d)
        addInPlace(x, normed, count * d)
    }
}
