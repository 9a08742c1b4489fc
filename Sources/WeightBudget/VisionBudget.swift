import WeightArchitecture

/// Vision tokens an image or a video frame becomes, and what they cost in the KV cache.
public struct VisionBudget: Sendable, Equatable {
    /// Tokens per image: the patch grid ((image / patch)^2), plus the class token when the
    /// projector keeps it ("full"); for a bare encoder, the sequence it runs over.
    public var tokensPerImage: Int
    /// Tokens per video frame: the patch grid after the model's pooling (LLaVA-NeXT-Video's
    /// `spatial_pool_stride` 2 turns 24 x 24 = 576 patches into 12 x 12 = 144).
    public var tokensPerFrame: Int
    public var images: Int
    public var frames: Int
    /// images x tokensPerImage + frames x tokensPerFrame.
    public var tokens: Int
    /// The tokens' KV cache (0 without a language model).
    public var kvBytes: Int

    public init(vision: VisionTower, projector: VisionProjector?, images: Int, frames: Int, kvBytesPerToken: Int) throws {
        if let projector, let pooled = projector.imageTokens {
            tokensPerImage = pooled
            tokensPerFrame = pooled
        } else if let projector {
            tokensPerImage = vision.patchCount + (projector.selectStrategy == "full" && vision.classToken ? 1 : 0)
            if let stride = projector.spatialPoolStride, stride > 1 {
                let side = vision.gridSize / stride
                tokensPerFrame = side * side
            } else {
                tokensPerFrame = tokensPerImage
            }
        } else {
            tokensPerImage = vision.sequenceLength
            tokensPerFrame = vision.sequenceLength
        }
        self.images = images
        self.frames = frames
        tokens = try Checked.add(try Checked.multiply(images, tokensPerImage, what: "the images' tokens"),
                                 try Checked.multiply(frames, tokensPerFrame, what: "the frames' tokens"), what: "the vision tokens")
        kvBytes = try Checked.multiply(tokens, kvBytesPerToken, what: "the vision tokens' KV cache")
    }
}
