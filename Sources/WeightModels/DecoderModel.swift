import WeightArchitecture
import WeightCompute
import WeightFormats

/// The pre-norm decoder shared by Llama, Qwen2, Qwen3 and Qwen3-MoE (one file each describes
/// what its family adds: biases, Q/K norms, experts). It mirrors transformers'
/// `LlamaDecoderLayer` step by step:
///
///     h = x + o_proj(attention(rope(q_proj(norm1(x))), rope(k_proj(...)), v_proj(...)))
///     y = h + mlp(norm2(h))          mlp: down(silu(gate(x)) * up(x)), or a mixture of experts
///
/// Weights stay memory-mapped in their stored type (`WeightMatrix`); activations are float32.
public final class DecoderModel: CausalLanguageModel {
    /// The family this model was built as (`"qwen2"`, `"llama"`...).
    public let modelType: String
    public let architecture: TextStack
    public var threads: Int = 0

    let embedding: WeightMatrix
    let layers: [DecoderLayer]
    let finalNorm: [Float]
    let outputHead: WeightMatrix
    let rotary: RotaryTable
    let attentionShapes: [AttentionShape]

    public var vocabularySize: Int { architecture.vocabularySize }
    public var contextLength: Int { architecture.contextLength }

    init(modelType: String, architecture: TextStack, embedding: WeightMatrix, layers: [DecoderLayer], finalNorm: [Float],
         outputHead: WeightMatrix, rotary: RotaryTable) {
        self.modelType = modelType
        self.architecture = architecture
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.outputHead = outputHead
        self.rotary = rotary
        self.attentionShapes = (0..<architecture.layerCount).map { index in
            AttentionShape(
                heads: architecture.headCount, kvHeads: architecture.kvHeads(layer: index),
                keySize: architecture.keyLength, valueSize: architecture.valueLength, causal: true,
                window: architecture.span(layer: index) == .sliding ? architecture.slidingWindow : nil)
        }
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(layers: attentionShapes.map {
            KVCacheLayer(kvHeads: $0.kvHeads, keySize: $0.keySize, valueSize: $0.valueSize, capacity: capacity)
        }, capacity: capacity)
    }

    public func forward(_ tokens: [Int], cache: KVCache, logits selection: LogitsSelection) throws -> [Float] {
        let count = tokens.count, start = cache.length
        guard count > 0 else { return [] }
        guard start + count <= cache.capacity else { throw ModelError.contextExceeded(length: start + count, capacity: cache.capacity) }
        for token in tokens where token < 0 || token >= vocabularySize {
            throw ModelError.invalidToken(token: token, vocabularySize: vocabularySize)
        }
        let hidden = architecture.hiddenSize
        var workspace = DecoderWorkspace(architecture: architecture, tokens: count, length: start + count)
        defer { workspace.deallocate() }
        let x = workspace.residual

        // 1. Token embeddings: x[t] = embed_tokens[token_t].
        for (t, token) in tokens.enumerated() { embedding.decodeRow(token, into: x + t * hidden) }

        // 2. The decoder layers.
        let frequencies = rotary.frequencies(sequenceLength: start + count)
        for (index, layer) in layers.enumerated() {
            layer.forward(
                x, tokens: count, start: start, cache: cache.layers[index], shape: attentionShapes[index],
                rotary: rotary, frequencies: frequencies, architecture: architecture, workspace: &workspace, threads: threads)
        }
        cache.length = start + count

        // 3. Final norm and the output head, for the rows asked for.
        let rows = selection == .all ? count : 1
        let first = selection == .all ? 0 : count - 1
        let normed = workspace.normed
        rmsNorm(rows: rows, x + first * hidden, weight: finalNorm, epsilon: Float(architecture.normEpsilon), count: hidden, into: normed)
        var logits = [Float](repeating: 0, count: rows * vocabularySize)
        logits.withUnsafeMutableBufferPointer { outputHead.apply(normed, count: rows, into: $0.baseAddress!, threads: threads) }
        return logits
    }
}

/// Scratch buffers for one forward call, allocated once and reused by every layer.
struct DecoderWorkspace {
    let residual, normed, query, key, value, attended, projected, scores: UnsafeMutablePointer<Float>
    let gate, up: UnsafeMutablePointer<Float>

    init(architecture a: TextStack, tokens: Int, length: Int) {
        let feedForward = max(a.feedForwardLength, a.experts?.feedForwardLength ?? 0)
        // Cache-line aligned: the matrix-vector kernels load x 64 bytes at a time.
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
        }
        residual = buffer(tokens * a.hiddenSize)
        normed = buffer(tokens * a.hiddenSize)
        query = buffer(tokens * a.headCount * a.keyLength)
        key = buffer(tokens * a.kvHeadCount * a.keyLength)
        value = buffer(tokens * a.kvHeadCount * a.valueLength)
        attended = buffer(tokens * a.headCount * a.valueLength)
        projected = buffer(tokens * a.hiddenSize)
        scores = buffer(tokens * length)
        gate = buffer(tokens * feedForward)
        up = buffer(tokens * feedForward)
    }

    func deallocate() {
        for buffer in [residual, normed, query, key, value, attended, projected, scores, gate, up] { buffer.deallocate() }
    }
}

/// One decoder block's weights and its forward step.
struct DecoderLayer {
    var attentionNorm: [Float]
    var query: WeightMatrix, key: WeightMatrix, value: WeightMatrix, output: WeightMatrix
    var queryBias: [Float]?, keyBias: [Float]?, valueBias: [Float]?, outputBias: [Float]?
    /// Qwen3's RMSNorm over each query and key head.
    var queryNorm: [Float]?, keyNorm: [Float]?
    var feedForwardNorm: [Float]
    var feedForward: FeedForward

    func forward(
        _ x: UnsafeMutablePointer<Float>, tokens count: Int, start: Int, cache: KVCacheLayer, shape: AttentionShape,
        rotary: RotaryTable, frequencies: [Float], architecture a: TextStack, workspace w: inout DecoderWorkspace, threads: Int
    ) {
        let hidden = a.hiddenSize, epsilon = Float(a.normEpsilon)
        let queryWidth = shape.heads * shape.keySize, keyWidth = shape.kvHeads * shape.keySize
        let valueWidth = shape.kvHeads * shape.valueSize

        // Attention: norm, projections, per-head norms, rotary positions, cache, attention, output.
        rmsNorm(rows: count, x, weight: attentionNorm, epsilon: epsilon, count: hidden, into: w.normed)
        WeightMatrix.apply([(query, w.query), (key, w.key), (value, w.value)], to: w.normed, count: count, threads: threads)
        addBias(queryBias, to: w.query, rows: count, width: queryWidth)
        addBias(keyBias, to: w.key, rows: count, width: keyWidth)
        addBias(valueBias, to: w.value, rows: count, width: valueWidth)
        if let queryNorm { rmsNorm(rows: count * shape.heads, w.query, weight: queryNorm, epsilon: epsilon, count: shape.keySize, into: w.query) }
        if let keyNorm { rmsNorm(rows: count * shape.kvHeads, w.key, weight: keyNorm, epsilon: epsilon, count: shape.keySize, into: w.key) }
        for t in 0..<count {
            rotary.apply(to: w.query + t * queryWidth, heads: shape.heads, headSize: shape.keySize, position: start + t, frequencies: frequencies)
            rotary.apply(to: w.key + t * keyWidth, heads: shape.kvHeads, headSize: shape.keySize, position: start + t, frequencies: frequencies)
        }
        cache.store(keys: w.key, values: w.value, start: start, count: count)
        attention(queries: w.query, cache: cache, start: start, count: count, shape: shape, scores: w.scores, into: w.attended,
                  threads: threads, kernels: query.kernels)
        output.apply(w.attended, count: count, into: w.projected, threads: threads)
        addBias(outputBias, to: w.projected, rows: count, width: hidden)
        addInPlace(x, w.projected, count * hidden)

        // Feed-forward: norm, SwiGLU or experts, residual.
        rmsNorm(rows: count, x, weight: feedForwardNorm, epsilon: epsilon, count: hidden, into: w.normed)
        feedForward.forward(w.normed, tokens: count, hidden: hidden, workspace: w, into: w.projected, threads: threads)
        addInPlace(x, w.projected, count * hidden)
    }
}

/// A feed-forward block: one SwiGLU MLP, or a routed mixture of them.
enum FeedForward {
    case gated(GatedMLP)
    case experts(router: WeightMatrix, experts: [GatedMLP], used: Int, normalize: Bool)

    func forward(_ input: UnsafePointer<Float>, tokens count: Int, hidden: Int, workspace w: DecoderWorkspace,
                 into output: UnsafeMutablePointer<Float>, threads: Int) {
        switch self {
        case .gated(let mlp):
            mlp.forward(input, rows: count, gate: w.gate, up: w.up, into: output, threads: threads)
        case .experts(let router, let experts, let used, let normalize):
            // Route each token (softmax over experts, top-k, optional renormalisation, as
            // Qwen3MoeSparseMoeBlock), then run each chosen expert once on all its tokens.
            var logits = [Float](repeating: 0, count: count * experts.count)
            logits.withUnsafeMutableBufferPointer { router.apply(input, count: count, into: $0.baseAddress!, threads: threads) }
            var assigned = [[(token: Int, weight: Float)]](repeating: [], count: experts.count)
            logits.withUnsafeBufferPointer { buffer in
                for t in 0..<count {
                    let route = routeTopK(logits: buffer.baseAddress! + t * experts.count, count: experts.count, k: used,
                                          softmaxFirst: true, normalize: normalize)
                    for (expert, weight) in zip(route.experts, route.weights) { assigned[expert].append((t, weight)) }
                }
            }
            output.update(repeating: 0, count: count * hidden)
            let gathered = UnsafeMutablePointer<Float>.allocate(capacity: count * hidden)
            let result = UnsafeMutablePointer<Float>.allocate(capacity: count * hidden)
            defer { gathered.deallocate(); result.deallocate() }
            for (expert, tokens) in assigned.enumerated() where !tokens.isEmpty {
                for (row, entry) in tokens.enumerated() {
                    (gathered + row * hidden).update(from: input + entry.token * hidden, count: hidden)
                }
                experts[expert].forward(gathered, rows: tokens.count, gate: w.gate, up: w.up, into: result, threads: threads)
                for (row, entry) in tokens.enumerated() {
                    let destination = output + entry.token * hidden, source = result + row * hidden
                    for i in 0..<hidden { destination[i] += source[i] * entry.weight }
                }
            }
        }
    }
}

/// down(silu(gate(x)) * up(x)).
struct GatedMLP {
    var gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix

    func forward(_ input: UnsafePointer<Float>, rows: Int, gate gateBuffer: UnsafeMutablePointer<Float>,
                 up upBuffer: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>, threads: Int) {
        WeightMatrix.apply([(gate, gateBuffer), (up, upBuffer)], to: input, count: rows, threads: threads)
        swiglu(gate: gateBuffer, up: upBuffer, count: rows * gate.rows, into: gateBuffer, threads: threads, kernels: gate.kernels)
        down.apply(gateBuffer, count: rows, into: output, threads: threads)
    }
}

@inline(__always)
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count { x[i] += y[i] }
}

@inline(__always)
func addBias(_ bias: [Float]?, to x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { b in
        for row in 0..<rows {
            let line = x + row * width
            for i in 0..<width { line[i] += b[i] }
        }
    }
}
