import WeightFormats
import WeightModels

/// Floating-point operations (2 per multiply-add) of one vision forward: the patch embedding,
/// the q/k/v/out and MLP products and the attention products of every layer.
func visionFlops(_ encoder: VisionTransformer, height: Int, width: Int) -> Double {
    let t = encoder.tower
    let patches = (height / t.patchSize) * (width / t.patchSize)
    let tokens = Double(encoder.tokenCount(height: height, width: width))
    let hidden = Double(t.hiddenSize), feedForward = Double(t.feedForwardLength)
    let perLayer = 2 * tokens * (4 * hidden * hidden + 2 * hidden * feedForward) + 4 * tokens * tokens * hidden
    return 2 * Double(patches * t.channels * t.patchSize * t.patchSize) * hidden + Double(t.layerCount) * perLayer
}

/// Encodes the pixels in `pixelsPath` with the vision model in `directory`: best of 3 after a warm-up.
func visionEncodeBenchmark(directory: String, pixelsPath: String) throws {
    let encoder = try ModelRegistry.loadVisionEncoder(directory)
    let pixels = try NPY.read(pixelsPath)
    let (batch, height, width) = (pixels.shape[0], pixels.shape[2], pixels.shape[3])
    _ = try encoder.encode(pixels: pixels.values, batch: batch, height: height, width: width)
    let seconds = try best(3) { _ = try encoder.encode(pixels: pixels.values, batch: batch, height: height, width: width) }
    let flops = visionFlops(encoder, height: height, width: width) * Double(batch)
    print("{\"benchmark\":\"vision-encode\",\"implementation\":\"weightkit\",\"threads\":\(Parallel.processorCount),\"seconds\":\(seconds),\"gflop\":\(flops / 1e9),\"gflop_per_second\":\(flops / seconds / 1e9),\"peak_resident_bytes\":\(peakResidentBytes())}")
}
