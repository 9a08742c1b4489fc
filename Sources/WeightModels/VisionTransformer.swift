import WeightArchitecture
import WeightCompute
import WeightFormats

/// What a vision encoder returns for a batch of images. Arrays are row-major float32.
public struct VisionEncoding: Sendable {
    public var batch: Int
    /// Tokens per image (patches, plus CLIP's class token).
    public var tokens: Int
    public var hiddenSize: Int
    /// transformers' `last_hidden_state` `[batch, tokens, hidden]`: CLIP's encoder output,
    /// SigLIP's after `post_layernorm`.
    public var lastHidden: [Float]
    /// transformers' `hidden_states[k]` for each layer `k` asked for (`[batch, tokens, hidden]`),
    /// keyed as asked (negative keys count from the end).
    public var hiddenStates: [Int: [Float]] = [:]
    /// `pooler_output` `[batch, hidden]`: CLIP's `post_layernorm` of the class token, SigLIP's
    /// attention-pooling head; nil for a SigLIP tower without a head.
    public var pooled: [Float]?
    /// CLIP's `visual_projection` of the pooled output `[batch, projection]`, not normalised.
    public var embeds: [Float]?
    public var projectionSize: Int?
}

/// How the pooled output is made from the last hidden state.
enum VisionPooling {
    /// CLIP: `post_layernorm` of the class token.
    case classToken
    /// SigLIP: the multi-head attention-pooling head.
    case attentionHead(AttentionPoolingHead)
    /// SigLIP without a head (`vision_use_head = false`).
    case none
}

/// A ViT image encoder as CLIP and SigLIP build it: patch embedding (a convolution with
/// stride = kernel = patch size, computed as one matrix product over all patches), an optional
/// class token, learned positions, an optional pre-norm, the encoder blocks, `post_layernorm`
/// and a pooling step. `CLIPVision.swift` and `SigLIPVision.swift` bind the weights.
public final class VisionTransformer: @unchecked Sendable {
    public let tower: VisionTower
    /// The threads and scratch the encoder computes with.
    public let context: ComputeContext

    let patchEmbedding: WeightMatrix
    let patchBias: [Float]?
    let classEmbedding: [Float]?
    /// `[positions, hidden]`: the class position first when there is a class token.
    let positionEmbedding: [Float]
    let preNorm: Norm?
    let layers: [TransformerBlock]
    /// CLIP's and SigLIP's `post_layernorm` (absent in llama.cpp's LLaVA mmproj files).
    let postNorm: Norm?
    let pooling: VisionPooling
    let projection: WeightMatrix?

    /// Whether the checkpoint has CLIP's `visual_projection` (image embeddings).
    public var hasProjection: Bool { projection != nil }

    var hidden: Int { tower.hiddenSize }
    var activation: ActivationFunction { tower.activation.function }

    init(tower: VisionTower, context: ComputeContext, patchEmbedding: WeightMatrix, patchBias: [Float]?, classEmbedding: [Float]?,
         positionEmbedding: [Float], preNorm: Norm?, layers: [TransformerBlock], postNorm: Norm?,
         pooling: VisionPooling, projection: WeightMatrix?) {
        self.tower = tower
        self.context = context
        self.patchEmbedding = patchEmbedding
        self.patchBias = patchBias
        self.classEmbedding = classEmbedding
        self.positionEmbedding = positionEmbedding
        self.preNorm = preNorm
        self.layers = layers
        self.postNorm = postNorm
        self.pooling = pooling
        self.projection = projection
    }

    /// transformers' `hidden_states` has `layerCount + 1` entries: index 0 is the embeddings
    /// (after CLIP's pre-norm), index k the output of block k. Negative indices count from the end.
    public func hiddenStateIndex(_ layer: Int) throws -> Int {
        let count = tower.layerCount + 1
        let index = layer < 0 ? count + layer : layer
        guard index >= 0, index < count else {
            throw ModelError.invalidArgument("layer \(layer) is outside the \(count) hidden states (-\(count)...\(count - 1))")
        }
        return index
    }

    /// Tokens for an image of `height` x `width` pixels.
    public func tokenCount(height: Int, width: Int) -> Int {
        (height / tower.patchSize) * (width / tower.patchSize) + (classEmbedding == nil ? 0 : 1)
    }

    /// Encodes a batch of normalised images.
    ///
    /// - Parameters:
    ///   - pixels: `[batch, channels, height, width]`, as the image processor leaves them.
    ///   - layers: also return `hidden_states[k]` for each of these (negative from the end).
    /// - Returns: the hidden states, the pooled output and CLIP's projected embedding.
    /// - Throws: `ModelError.invalidArgument` for a shape the model cannot take.
    public func encode(pixels: [Float], batch: Int, height: Int, width: Int, layers selection: [Int] = []) throws -> VisionEncoding {
        let patch = tower.patchSize, channels = tower.channels
        guard batch > 0, pixels.count == batch * channels * height * width else {
            throw ModelError.invalidArgument("pixels hold \(pixels.count) values, not [\(batch), \(channels), \(height), \(width)]")
        }
        guard height >= patch, width >= patch else {
            throw ModelError.invalidArgument("a \(height)x\(width) image is smaller than one \(patch)x\(patch) patch")
        }
        let selected = try selection.map { ($0, try hiddenStateIndex($0)) }
        let rows = height / patch, columns = width / patch
        let patches = rows * columns
        let offset = classEmbedding == nil ? 0 : 1
        let tokens = patches + offset
        let hidden = self.hidden
        let positions = try positionTable(rows: rows, columns: columns)

        let x = UnsafeMutablePointer<Float>.allocate(capacity: batch * tokens * hidden)
        defer { x.deallocate() }
        let head = hidden / tower.headCount
        let shape = WorkspaceShape(hidden: hidden, query: hidden, key: tower.headCount * head, value: tower.headCount * head,
                                   attended: hidden, feedForward: tower.feedForwardLength)
        let workspace = try Workspace(shape, tokens: batch * tokens, length: tokens)
        defer { workspace.deallocate() }

        // 1. Patch embedding: unfold every patch to a row [channels * patch * patch], then one
        //    product with the convolution weight [hidden, channels * patch * patch].
        let patchLength = channels * patch * patch
        let unfolded = UnsafeMutablePointer<Float>.allocate(capacity: patches * patchLength)
        defer { unfolded.deallocate() }
        pixels.withUnsafeBufferPointer { source in
            for image in 0..<batch {
                let base = source.baseAddress! + image * channels * height * width
                for gy in 0..<rows {
                    for gx in 0..<columns {
                        var destination = unfolded + (gy * columns + gx) * patchLength
                        for c in 0..<channels {
                            for ky in 0..<patch {
                                let line = base + (c * height + gy * patch + ky) * width + gx * patch
                                destination.update(from: line, count: patch)
                                destination += patch
                            }
                        }
                    }
                }
                let sequence = x + image * tokens * hidden
                patchEmbedding.apply(unfolded, count: patches, into: sequence + offset * hidden, context: context)
                addBias(patchBias, to: sequence + offset * hidden, rows: patches, width: hidden, context: context)
                // 2. Class token first (CLIP), then positions added to every token.
                if let classEmbedding { sequence.update(from: classEmbedding, count: hidden) }
                addInPlace(sequence, positions, tokens * hidden)
            }
        }
        // 3. CLIP's pre-norm.
        if let preNorm { preNorm.apply(rows: batch * tokens, x, into: x) }

        // 4. The encoder blocks, keeping hidden_states[selected] when asked.
        var hiddenStates: [Int: [Float]] = [:]
        func keep(_ index: Int) {
            for (key, wanted) in selected where wanted == index {
                hiddenStates[key] = Array(UnsafeBufferPointer(start: x, count: batch * tokens * hidden))
            }
        }
        keep(0)
        for (index, block) in layers.enumerated() {
            block.forwardEncoder(x, batch: batch, tokens: tokens, workspace: workspace, context: context)
            keep(index + 1)
        }

        // 5. Last hidden state and pooling.
        var encoding = VisionEncoding(batch: batch, tokens: tokens, hiddenSize: hidden, lastHidden: [], hiddenStates: hiddenStates)
        switch pooling {
        case .classToken:
            guard let postNorm else { preconditionFailure("class-token pooling needs post_layernorm") }
            encoding.lastHidden = Array(UnsafeBufferPointer(start: x, count: batch * tokens * hidden))
            var pooled = [Float](repeating: 0, count: batch * hidden)
            pooled.withUnsafeMutableBufferPointer { out in
                for image in 0..<batch {
                    postNorm.apply(rows: 1, x + image * tokens * hidden, into: out.baseAddress! + image * hidden)
                }
            }
            encoding.pooled = pooled
        case .attentionHead(let head):
            postNorm?.apply(rows: batch * tokens, x, into: x)
            encoding.lastHidden = Array(UnsafeBufferPointer(start: x, count: batch * tokens * hidden))
            encoding.pooled = head.pool(x, batch: batch, tokens: tokens, activation: activation, context: context)
        case .none:
            postNorm?.apply(rows: batch * tokens, x, into: x)
            encoding.lastHidden = Array(UnsafeBufferPointer(start: x, count: batch * tokens * hidden))
        }
        if let projection, let pooled = encoding.pooled {
            var embeds = [Float](repeating: 0, count: batch * projection.rows)
            embeds.withUnsafeMutableBufferPointer { projection.apply(pooled, count: batch, into: $0.baseAddress!, context: context) }
            encoding.embeds = embeds
            encoding.projectionSize = projection.rows
        }
        return encoding
    }

    /// The position embeddings for a `rows` x `columns` patch grid (class position first): the
    /// learned table when the grid is the training grid, otherwise the patch positions resized
    /// with PyTorch's bicubic interpolation (`interpolate_pos_encoding`).
    func positionTable(rows: Int, columns: Int) throws -> [Float] {
        let offset = classEmbedding == nil ? 0 : 1
        let trained = positionEmbedding.count / hidden - offset
        if rows * columns == trained && rows == columns { return positionEmbedding }
        let side = Int(Double(trained).squareRoot())
        guard side * side == trained else {
            throw ModelError.invalidArgument("the \(trained) position embeddings do not form a square grid to interpolate")
        }
        var table = Array(positionEmbedding.prefix(offset * hidden))
        table += bicubicResize(Array(positionEmbedding[(offset * hidden)...]), rows: side, columns: side,
                               channels: hidden, toRows: rows, toColumns: columns)
        return table
    }
}

/// Resizes a `[rows, columns, channels]` grid with `torch.nn.functional.interpolate(mode="bicubic",
/// align_corners=False)`: cubic convolution with a = -0.75, source coordinate
/// `(i + 0.5) * in / out - 0.5` (not clamped), neighbours clamped to the border.
func bicubicResize(_ grid: [Float], rows: Int, columns: Int, channels: Int, toRows: Int, toColumns: Int) -> [Float] {
    func taps(_ index: Int, input: Int, output: Int) -> (indices: [Int], weights: [Float]) {
        let scale = Float(input) / Float(output)
        let source = scale * (Float(index) + 0.5) - 0.5
        let base = Int(source.rounded(.down))
        let t = source - Float(base)
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
        let indices = (-1...2).map { min(max(base + $0, 0), input - 1) }
        return (indices, weights)
    }
    var result = [Float](repeating: 0, count: toRows * toColumns * channels)
    for y in 0..<toRows {
        let vertical = taps(y, input: rows, output: toRows)
        for x in 0..<toColumns {
            let horizontal = taps(x, input: columns, output: toColumns)
            let out = (y * toColumns + x) * channels
            for (i, row) in vertical.indices.enumerated() {
                for (j, column) in horizontal.indices.enumerated() {
                    let weight = vertical.weights[i] * horizontal.weights[j]
                    let source = (row * columns + column) * channels
                    for c in 0..<channels { result[out + c] += weight * grid[source + c] }
                }
            }
        }
    }
    return result
}
