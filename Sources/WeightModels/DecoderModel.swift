import WeightAdapters
import WeightArchitecture
import WeightCompute
import WeightFormats

/// A causal language model built from transformer blocks: every decoder family (Llama, Qwen,
/// Mistral, Gemma, Phi-3) and the expert LM. Its forward pass is the one transformers' decoder
/// models share:
///
///     x = embed_tokens[ids] · scale (+ position table)        prologue
///     x = block_i(x)  for each block                           (TransformerBlock)
///     logits = cap(lm_head(norm(x)))                           epilogue
///
/// Weights stay memory-mapped in their stored type; activations are float32.
public final class DecoderModel: CausalLanguageModel {
    /// The family this model was built as (`"qwen2"`, `"llama"`...).
    public let modelType: String
    public let architecture: TextStack
    public let context: ComputeContext

    let embedding: WeightMatrix
    /// LoRA updates of the embedding table, added to each row looked up (before the scale).
    let embeddingUpdates: [ResolvedUpdate]
    /// Multiplies the token embeddings (Gemma: √hidden); nil for none.
    let embeddingScale: Float?
    /// Added to the embeddings, `[positions, hidden]` (the expert LM's sinusoidal table).
    let positionTable: [Float]?
    let blocks: [TransformerBlock]
    let finalNorm: Norm
    let outputHead: Linear
    /// Logits are squashed to `cap · tanh(logit / cap)` (Gemma 2).
    let logitSoftCap: Float?
    /// The rotary tables the blocks use (one per distinct table), and which each block uses.
    let rotaryTables: [RotaryTable]
    let blockRotary: [Int?]
    let workspaceShape: WorkspaceShape

    public var vocabularySize: Int { architecture.vocabularySize }
    public var contextLength: Int { architecture.contextLength }
    public var threads: Int { context.threads }

    init(modelType: String, architecture: TextStack, context: ComputeContext, embedding: WeightMatrix,
         embeddingUpdates: [ResolvedUpdate] = [], embeddingScale: Float? = nil,
         positionTable: [Float]? = nil, blocks: [TransformerBlock], finalNorm: Norm, outputHead: Linear, logitSoftCap: Float? = nil) {
        self.modelType = modelType
        self.architecture = architecture
        self.context = context
        self.embedding = embedding
        self.embeddingUpdates = embeddingUpdates
        self.embeddingScale = embeddingScale
        self.positionTable = positionTable
        self.blocks = blocks
        self.finalNorm = finalNorm
        self.outputHead = outputHead
        self.logitSoftCap = logitSoftCap
        var tables: [RotaryTable] = []
        blockRotary = blocks.map { block in
            guard let table = block.attention.rotary else { return nil }
            if let index = tables.firstIndex(where: { $0.sameFrequencies(as: table) }) { return index }
            tables.append(table)
            return tables.count - 1
        }
        rotaryTables = tables
        var shape = WorkspaceShape(architecture)
        shape.feedForward = max(shape.feedForward, blocks.map(\.feedForward.width).max() ?? 0)
        workspaceShape = shape
    }

    public func makeCache(capacity: Int) throws -> KVCache {
        try KVCache(layers: blocks.map { $0.attention.shape }, capacity: capacity)
    }

    public func forward(_ tokens: [Int], cache: KVCache, logits selection: LogitsSelection) throws -> [Float] {
        let count = tokens.count, start = cache.length
        guard count > 0 else { return [] }
        let limit = min(cache.capacity, positionTable == nil ? Int.max : contextLength)
        guard start + count <= limit else { throw ModelError.contextExceeded(length: start + count, capacity: limit) }
        for token in tokens where token < 0 || token >= vocabularySize {
            throw ModelError.invalidToken(token: token, vocabularySize: vocabularySize)
        }
        let hidden = architecture.hiddenSize
        let workspace = try Workspace(workspaceShape, tokens: count, length: start + count,
                                      fusedQKV: architecture.fusedQKV)
        defer { workspace.deallocate() }
        let x = workspace.residual

        // 1. Token embeddings, scaled, plus a position table.
        for (t, token) in tokens.enumerated() { embed(token, into: x + t * hidden) }
        if let embeddingScale { for i in 0..<(count * hidden) { x[i] *= embeddingScale } }
        positionTable?.withUnsafeBufferPointer { table in
            addInPlace(x, table.baseAddress! + start * hidden, count * hidden)
        }

        // 2. The blocks.
        let frequencies = rotaryTables.map { $0.frequencies(sequenceLength: start + count) }
        for (index, block) in blocks.enumerated() {
            block.forward(x, tokens: count, start: start, cache: cache.layers[index], frequencies: blockRotary[index].map { frequencies[$0] },
                          workspace: workspace, context: context)
        }
        cache.length = start + count

        // 3. Final norm and the output head, for the rows asked for.
        let rows = selection == .all ? count : 1
        let first = selection == .all ? 0 : count - 1
        finalNorm.apply(rows: rows, x + first * hidden, into: workspace.normed)
        var logits = [Float](repeating: 0, count: rows * vocabularySize)
        logits.withUnsafeMutableBufferPointer { outputHead.apply(workspace.normed, rows: rows, into: $0.baseAddress!, context: context) }
        if let logitSoftCap { for i in logits.indices { logits[i] = logitSoftCap * tanhf(logits[i] / logitSoftCap) } }
        return logits
    }
}

extension DecoderModel: TokenEmbedding {
    public var embeddingSize: Int { embedding.columns }
    public func embed(_ token: Int, into destination: UnsafeMutablePointer<Float>) {
        embedding.decodeRow(token, into: destination)
        for update in embeddingUpdates { update.module.addDeltaRow(token, scale: update.scale, into: destination) }
    }
}

extension RotaryTable {
    /// Whether two tables rotate by the same angles (blocks then share one frequency list).
    func sameFrequencies(as other: RotaryTable) -> Bool {
        dimensions == other.dimensions && base == other.base && scaling == other.scaling && layout == other.layout
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
