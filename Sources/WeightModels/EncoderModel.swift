import WeightArchitecture
import WeightCompute
import WeightFormats

/// A family that WeightModels runs as a bidirectional encoder (BERT and the sentence-embedding
/// models built on it). Its builder file extends the descriptor with this; `ModelRegistry`
/// finds it by conformance, as it finds `LanguageModelBuilder`s.
protocol EncoderModelBuilder: ModelFamily {
    /// Builds the encoder, refusing options the family's reference implementation does not have.
    static func encoderModel(checkpoint: Checkpoint, architecture: ModelArchitecture, context: ComputeContext) throws -> EncoderModel
}

/// A transformer encoder (transformers' `BertModel` without its pooler): the last hidden state
/// of each token of a batch of sequences.
///
///     x = LayerNorm(word[ids] + position[0 ..< T] + token_type[types])   prologue
///     x = block_i(x)  for each block, attending within the sequence      (TransformerBlock)
///
/// Sequences of different lengths run together, packed one after another: each token attends
/// to the tokens of its own sequence only (what transformers computes with an attention mask
/// over a padded batch, without computing the padding).
public final class EncoderModel: @unchecked Sendable {
    /// The family this model was built as (`"bert"`).
    public let modelType: String
    public let architecture: TextStack
    public let context: ComputeContext

    let wordEmbedding: WeightMatrix
    let positionEmbedding: WeightMatrix
    let tokenTypeEmbedding: WeightMatrix?
    let embeddingNorm: Norm
    let blocks: [TransformerBlock]
    let workspaceShape: WorkspaceShape

    /// The width of a token's hidden state.
    public var hiddenSize: Int { architecture.hiddenSize }
    /// The most tokens a sequence may have (the position table's rows).
    public var maxSequenceLength: Int { positionEmbedding.rows }
    public var vocabularySize: Int { wordEmbedding.rows }

    /// The most tokens one forward pass packs (longer batches run in several passes).
    public static let tokensPerPass = 4096

    init(modelType: String, architecture: TextStack, context: ComputeContext, wordEmbedding: WeightMatrix,
         positionEmbedding: WeightMatrix, tokenTypeEmbedding: WeightMatrix?, embeddingNorm: Norm, blocks: [TransformerBlock]) {
        self.modelType = modelType
        self.architecture = architecture
        self.context = context
        self.wordEmbedding = wordEmbedding
        self.positionEmbedding = positionEmbedding
        self.tokenTypeEmbedding = tokenTypeEmbedding
        self.embeddingNorm = embeddingNorm
        self.blocks = blocks
        var shape = WorkspaceShape(architecture)
        shape.feedForward = max(shape.feedForward, blocks.map(\.feedForward.width).max() ?? 0)
        workspaceShape = shape
    }

    /// The last hidden state of every token of each sequence: `[T_i * hiddenSize]` per sequence,
    /// in the order given.
    /// - Parameters:
    ///   - sequences: token ids, one list per sequence (each non-empty, at most
    ///     `maxSequenceLength` ids).
    ///   - tokenTypes: segment ids per token (nil: all 0, as for single texts).
    public func hiddenStates(_ sequences: [[Int]], tokenTypes: [[Int]]? = nil) throws -> [[Float]] {
        for (index, ids) in sequences.enumerated() {
            guard !ids.isEmpty else { throw ModelError.invalidArgument("sequences[\(index)] is empty") }
            guard ids.count <= maxSequenceLength else {
                throw ModelError.invalidArgument(
                    "sequences[\(index)] has \(ids.count) tokens, more than the \(maxSequenceLength) positions of the model")
            }
            for id in ids where id < 0 || id >= vocabularySize { throw ModelError.invalidToken(token: id, vocabularySize: vocabularySize) }
            if let tokenTypes {
                guard index < tokenTypes.count, tokenTypes[index].count == ids.count else {
                    throw ModelError.invalidArgument("tokenTypes[\(index)] must have one type per token of sequences[\(index)]")
                }
                let typeCount = tokenTypeEmbedding?.rows ?? 1
                for type in tokenTypes[index] where type < 0 || type >= typeCount {
                    throw ModelError.invalidArgument("tokenTypes[\(index)] holds \(type), outside 0..<\(typeCount)")
                }
            }
        }
        var results: [[Float]] = []
        results.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            var end = start, rows = 0
            while end < sequences.count, end == start || rows + sequences[end].count <= Self.tokensPerPass {
                rows += sequences[end].count
                end += 1
            }
            results += try pass(Array(sequences[start..<end]), tokenTypes: tokenTypes.map { Array($0[start..<end]) })
            start = end
        }
        return results
    }

    /// One forward pass over packed sequences.
    private func pass(_ sequences: [[Int]], tokenTypes: [[Int]]?) throws -> [[Float]] {
        let hidden = hiddenSize
        var ranges: [Range<Int>] = []
        var rows = 0
        for ids in sequences {
            ranges.append(rows..<rows + ids.count)
            rows += ids.count
        }
        let longest = sequences.map(\.count).max() ?? 0
        let workspace = try Workspace(workspaceShape, tokens: rows, length: longest)
        defer { workspace.deallocate() }
        let x = workspace.residual
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: hidden)
        defer { scratch.deallocate() }

        // 1. Word + position + token type embeddings, then the embedding LayerNorm.
        for (index, ids) in sequences.enumerated() {
            for (position, id) in ids.enumerated() {
                let row = x + (ranges[index].lowerBound + position) * hidden
                wordEmbedding.decodeRow(id, into: row)
                positionEmbedding.decodeRow(position, into: scratch)
                addInPlace(row, scratch, hidden)
                if let tokenTypeEmbedding {
                    tokenTypeEmbedding.decodeRow(tokenTypes?[index][position] ?? 0, into: scratch)
                    addInPlace(row, scratch, hidden)
                }
            }
        }
        if embeddingNorm.kind == .layer {
            embeddingNorm.applyResidual(rows: rows, x, adding: nil, addBias: nil, context: context)
        } else {
            embeddingNorm.apply(rows: rows, x, into: x)
        }

        // 2. The blocks.
        for block in blocks { block.forwardEncoder(x, sequences: ranges, workspace: workspace, context: context) }
        return ranges.map { Array(UnsafeBufferPointer(start: x + $0.lowerBound * hidden, count: $0.count * hidden)) }
    }
}
