import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// Meta's multi-token-prediction LLaMA (Gloeckle et al. 2024, facebook/multi-token-prediction),
/// loaded from `params.json` (or an equivalent `config.json`) and safetensors with Meta's names:
///
///     layers:       n_layers - n_future_tokens + 1 LLaMA blocks; the trunk is all but the last
///     extra_heads:  n_future_tokens - 1 blocks
///     h_trunk = layers[:-1](tok_embeddings(ids))
///     head_k  = ([layers[-1]] + extra_heads)[k](h_trunk)          every head reads the trunk
///     logits  = output(norm(stack(head_0 ... head_{H-1})))         [T, H, vocab]
///
/// Head 0 is the ordinary next-token head; head k predicts the token k + 1 positions ahead.
/// Every block is the shared LLaMA block (`TransformerBlock`, bound by `MetaMTP`'s schema).
/// Rotary embeddings use Meta's adjacent-pair (complex) layout. The `CausalLanguageModel`
/// interface runs the trunk and head 0 only.
public final class MetaMTPModel: CausalLanguageModel {
    public let architecture: TextStack
    /// n_future_tokens: the number of prediction heads.
    public let futureTokens: Int
    public let context: ComputeContext
    /// The value head, when one is attached.
    public var valueHead: ValueHead?

    let embedding: WeightMatrix
    let trunk: [TransformerBlock]
    /// `[layers[-1]] + extra_heads`.
    let heads: [TransformerBlock]
    let finalNorm: Norm
    let outputHead: WeightMatrix
    let rotary: RotaryTable
    let workspaceShape: WorkspaceShape

    public var vocabularySize: Int { architecture.vocabularySize }
    public var contextLength: Int { architecture.contextLength }
    public var hiddenSize: Int { architecture.hiddenSize }
    public var threads: Int { context.threads }

    init(architecture: ModelArchitecture, checkpoint: Checkpoint, context: ComputeContext, adapters: [ScaledAdapter] = []) throws {
        let stack = try architecture.requireText()
        guard let futureTokens = stack.futureTokens, futureTokens >= 1, futureTokens <= stack.layerCount else {
            throw ModelError.unsupportedModel(modelType: "meta_mtp", reason: "n_future_tokens must be between 1 and n_layers")
        }
        self.architecture = stack
        self.futureTokens = futureTokens
        self.context = context
        // GGUF files (`llama-mtp`) store the same tensors under llama.cpp's names; the schema has both.
        let schema = try MetaMTP.schema(architecture)
        let binder = WeightBinder(checkpoint: checkpoint, schema: schema, model: "meta_mtp", kernels: context.kernels,
                                  adapters: try DecoderBuilder.adapterPlan(adapters, schema: schema, checkpoint: checkpoint, model: "meta_mtp"))
        guard let rotaryParameters = stack.rotary else { throw ModelError.unsupportedModel(modelType: "meta_mtp", reason: "no rotary parameters") }
        let rotary = RotaryTable(dimensions: rotaryParameters.dimensions, base: Float(rotaryParameters.theta), layout: .interleaved)
        embedding = binder.matrix(TensorRole(.tokenEmbedding))
        let blocks = (0..<stack.layerCount).map { DecoderBuilder.block($0, stack, binder: binder, rotary: (rotary, nil)) }
        let layerCount = MetaMTP.layerCount(stack)
        trunk = Array(blocks.prefix(layerCount - 1))
        heads = Array(blocks[(layerCount - 1)...])
        finalNorm = binder.norm(nil, .finalNorm, kind: .rms, epsilon: stack.normEpsilon)
        outputHead = binder.matrix(TensorRole(.outputHead))
        try binder.finish()
        self.rotary = rotary
        workspaceShape = WorkspaceShape(stack)
    }

    /// A cache for the trunk and every prediction head.
    public func makeCache(capacity: Int) throws -> KVCache {
        try KVCache(layers: (trunk + heads).map { $0.attention.shape }, capacity: capacity)
    }

    /// The outputs of one multi-head forward pass, for the selected rows.
    public struct Output: Sendable {
        /// `[rows, heads, vocabulary]`.
        public var logits: [Float]
        /// `norm(head_0)`: `[rows, dim]`.
        public var hidden: [Float]
        /// `norm(h_trunk)`: `[rows, dim]`.
        public var trunkHidden: [Float]
        public var rows: Int
        public var heads: Int
    }

    /// Runs the trunk and the first `headCount` heads over `tokens` at the cache's next
    /// positions. `computeLogits: false` skips the output layer (trunk_forward).
    public func forward(_ tokens: [Int], cache: KVCache, headCount: Int, rows selection: LogitsSelection,
                        computeLogits: Bool = true) throws -> Output {
        let count = tokens.count, start = cache.length, d = hiddenSize
        guard headCount >= 1, headCount <= heads.count else {
            throw ModelError.invalidArgument("heads must be between 1 and n_future_tokens (\(heads.count))")
        }
        guard count > 0 else { return Output(logits: [], hidden: [], trunkHidden: [], rows: 0, heads: headCount) }
        guard start + count <= cache.capacity else { throw ModelError.contextExceeded(length: start + count, capacity: cache.capacity) }
        for token in tokens where token < 0 || token >= vocabularySize {
            throw ModelError.invalidToken(token: token, vocabularySize: vocabularySize)
        }
        let workspace = try Workspace(workspaceShape, tokens: count, length: start + count)
        defer { workspace.deallocate() }
        let frequencies = rotary.inverseFrequencies
        let trunkState = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        defer { trunkState.deallocate() }

        // 1. The trunk: embeddings and layers[:-1].
        for (t, token) in tokens.enumerated() { embedding.decodeRow(token, into: trunkState + t * d) }
        for (index, layer) in trunk.enumerated() {
            layer.forward(trunkState, tokens: count, start: start, cache: cache.layers[index], frequencies: frequencies,
                          workspace: workspace, context: context)
        }

        // 2. Each head on the trunk output, then the shared norm and output layer.
        let rows = selection == .all ? count : 1
        let first = selection == .all ? 0 : count - 1
        var output = Output(logits: [Float](repeating: 0, count: computeLogits ? rows * headCount * vocabularySize : 0),
                            hidden: [Float](repeating: 0, count: rows * d), trunkHidden: [Float](repeating: 0, count: rows * d),
                            rows: rows, heads: headCount)
        output.trunkHidden.withUnsafeMutableBufferPointer {
            finalNorm.apply(rows: rows, trunkState + first * d, into: $0.baseAddress!)
        }
        let state = UnsafeMutablePointer<Float>.allocate(capacity: count * d)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: rows * d)
        let headLogits = UnsafeMutablePointer<Float>.allocate(capacity: computeLogits ? rows * vocabularySize : 1)
        defer { state.deallocate(); normed.deallocate(); headLogits.deallocate() }
        for head in 0..<headCount {
            state.update(from: trunkState, count: count * d)
            heads[head].forward(state, tokens: count, start: start, cache: cache.layers[trunk.count + head], frequencies: frequencies,
                                workspace: workspace, context: context)
            finalNorm.apply(rows: rows, state + first * d, into: normed)
            if head == 0 { output.hidden.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: normed, count: rows * d) } }
            guard computeLogits else { continue }
            outputHead.apply(normed, count: rows, into: headLogits, context: context)
            output.logits.withUnsafeMutableBufferPointer { all in
                for row in 0..<rows {
                    (all.baseAddress! + (row * headCount + head) * vocabularySize)
                        .update(from: headLogits + row * vocabularySize, count: vocabularySize)
                }
            }
        }
        cache.length = start + count
        return output
    }

    /// Head-0 next-token logits (the ordinary language model).
    public func forward(_ tokens: [Int], cache: KVCache, logits selection: LogitsSelection) throws -> [Float] {
        try forward(tokens, cache: cache, headCount: 1, rows: selection).logits
    }

    /// seed 001's `trunk_forward`: normed head-0 hidden states `[T, dim]` and values `[T, 1]`,
    /// without the extra heads or the output layer.
    public func trunkForward(_ tokens: [Int]) throws -> (hidden: [Float], values: [Float]) {
        guard let valueHead else { throw ModelError.invalidArgument("no value head is attached: load one or create one first") }
        let cache = try makeCache(capacity: tokens.count)
        let output = try forward(tokens, cache: cache, headCount: 1, rows: .all, computeLogits: false)
        return (output.hidden, valueHead.values(valueHead.source == .trunk ? output.trunkHidden : output.hidden, rows: tokens.count))
    }

    /// seed 001's `full_forward`: logits of every head `[T, n_future_tokens, vocab]`, values
    /// `[T, 1]` when a value head is attached, and normed head-0 hidden states `[T, dim]`.
    public func fullForward(_ tokens: [Int]) throws -> (logits: [Float], values: [Float]?, hidden: [Float]) {
        let cache = try makeCache(capacity: tokens.count)
        let output = try forward(tokens, cache: cache, headCount: heads.count, rows: .all)
        let values = valueHead.map { $0.values($0.source == .trunk ? output.trunkHidden : output.hidden, rows: tokens.count) }
        return (output.logits, values, output.hidden)
    }
}

/// seed 001's value head: an unbounded linear layer `dim -> 1` on a final-normed hidden state.
public struct ValueHead: Sendable, Equatable {
    /// Which hidden state the value head reads.
    public enum Source: String, Sendable, CaseIterable {
        /// `norm(layers[-1](trunk))`: head 0's normed output (the default).
        case head0 = "head0"
        /// `norm(trunk)`: the normed output of `layers[:-1]`.
        case trunk
    }

    /// `[1, dim]` stored as `dim` values.
    public var weight: [Float]
    public var bias: Float
    public var source: Source

    public init(weight: [Float], bias: Float, source: Source = .head0) {
        self.weight = weight
        self.bias = bias
        self.source = source
    }

    /// A freshly initialised head, as PyTorch initialises `nn.Linear(dim, 1)`: weight and bias
    /// uniform in ±1/√dim, drawn from `SeededGenerator(seed:)`.
    public init(dimension: Int, seed: UInt64, source: Source = .head0) {
        var generator = SeededGenerator(seed: seed)
        let bound = 1 / Double(dimension).squareRoot()
        weight = (0..<dimension).map { _ in Float((generator.uniform() * 2 - 1) * bound) }
        bias = Float((generator.uniform() * 2 - 1) * bound)
        self.source = source
    }

    /// Loads `weight` `[1, dim]` and `bias` `[1]` from a safetensors file.
    public init(path: String, dimension: Int, source: Source = .head0) throws {
        let checkpoint = try Checkpoint.open(path)
        let binder = WeightBinder(checkpoint: checkpoint, model: "value head")
        let weight = binder.tensor("weight", shape: [1, dimension]).map { binder.floats($0) } ?? []
        let bias = binder.tensor("bias", shape: [1]).map { binder.floats($0) } ?? []
        try binder.finish()
        self.weight = weight
        self.bias = bias[0]
        self.source = source
    }

    /// Saves as safetensors (`weight` `[1, dim]`, `bias` `[1]`, float32), atomically.
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing file; otherwise one is an error.
    ///   - inputs: files the caller read (the model's), which `path` may never be.
    public func save(to path: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()) throws {
        var header = "{\"__metadata__\":{\"format\":\"pt\",\"value_source\":\"\(source.rawValue)\"},"
        header += "\"bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        header += "\"weight\":{\"dtype\":\"F32\",\"shape\":[1,\(weight.count)],\"data_offsets\":[4,\(4 + 4 * weight.count)]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        let output = try OutputFile(destination: path, overwrite: overwrite, inputs: inputs)
        var length = UInt64(header.utf8.count).littleEndian
        try withUnsafeBytes(of: &length) { try output.write($0) }
        try output.write(header)
        var bias = self.bias
        try withUnsafeBytes(of: &bias) { try output.write($0) }
        try weight.withUnsafeBytes { try output.write($0) }
        try output.commit()
    }

    /// values[t] = weight · hidden[t] + bias, for `rows` rows.
    public func values(_ hidden: [Float], rows: Int) -> [Float] {
        let d = weight.count
        return (0..<rows).map { row in
            var sum: Float = 0
            for i in 0..<d { sum += weight[i] * hidden[row * d + i] }
            return sum + bias
        }
    }
}

extension MetaMTPModel {
    /// The outcome of self-speculative decoding.
    public struct SpeculativeResult: Sendable {
        public var tokens: [Int]
        /// Draft tokens proposed by the extra heads, and how many head 0 confirmed.
        public var draftsProposed: Int
        public var draftsAccepted: Int
        /// Forward passes run (prefill included).
        public var forwardPasses: Int
        public var seconds: Double

        public var acceptanceRate: Double { draftsProposed > 0 ? Double(draftsAccepted) / Double(draftsProposed) : 0 }
    }

    /// Greedy generation that drafts with the extra heads and verifies with head 0
    /// (blockwise parallel decoding): at each step head 0's token is certain, heads 1... guess
    /// the tokens after it; one forward pass over [certain, guesses...] checks each guess
    /// against head 0's prediction at the position before it and keeps the longest confirmed
    /// prefix. The tokens are exactly plain greedy decoding's.
    public func generateSpeculatively(prompt: [Int], count: Int) throws -> SpeculativeResult {
        guard !prompt.isEmpty else { throw ModelError.invalidArgument("the prompt needs at least one token") }
        let headCount = heads.count, vocabulary = vocabularySize
        let start = monotonicSeconds()
        let cache = try makeCache(capacity: prompt.count + count + headCount)
        var output = try forward(prompt, cache: cache, headCount: headCount, rows: .last)
        var row = 0
        var result = SpeculativeResult(tokens: [], draftsProposed: 0, draftsAccepted: 0, forwardPasses: 1, seconds: 0)
        func prediction(_ output: Output, row: Int, head: Int) -> Int {
            output.logits.withUnsafeBufferPointer { argmax($0.baseAddress! + (row * headCount + head) * vocabulary, count: vocabulary) }
        }
        while result.tokens.count < count {
            let certain = prediction(output, row: row, head: 0)
            result.tokens.append(certain)
            if result.tokens.count == count { break }
            let drafts = (1..<headCount).map { prediction(output, row: row, head: $0) }
            let position = cache.length
            output = try forward([certain] + drafts, cache: cache, headCount: headCount, rows: .all)
            result.forwardPasses += 1
            result.draftsProposed += drafts.count
            var kept = 1
            for (index, draft) in drafts.enumerated() {
                guard result.tokens.count < count, prediction(output, row: index, head: 0) == draft else { break }
                result.tokens.append(draft)
                result.draftsAccepted += 1
                kept += 1
            }
            cache.truncate(to: position + kept)
            row = kept - 1
        }
        result.seconds = monotonicSeconds() - start
        return result
    }
}

/// The builder of Meta's multi-token-prediction family (`MetaMTP` describes its files).
extension MetaMTP: LanguageModelBuilder {
    static func languageModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext,
                              adapters: [ScaledAdapter]) throws
        -> CausalLanguageModel {
        try MetaMTPModel(architecture: architecture, checkpoint: checkpoint, context: context, adapters: adapters)
    }
}
