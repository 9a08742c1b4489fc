import CKernels

/// RMSNorm: y = x / sqrt(mean(x²) + ε) * weight, as Hugging Face's `*RMSNorm` computes it in
/// float32 (the product with the weight last).
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float, count: Int,
                    into y: UnsafeMutablePointer<Float>) {
    let meanSquare = sumOfSquares(x, count) / Float(count)
    let scale = 1 / (meanSquare + epsilon).squareRoot()
    for i in 0..<count { y[i] = weight[i] * (x[i] * scale) }
}

/// RMSNorm of each of `rows` rows of length `count`.
public func rmsNorm(rows: Int, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float, count: Int,
                    into y: UnsafeMutablePointer<Float>) {
    for row in 0..<rows { rmsNorm(x + row * count, weight: weight, epsilon: epsilon, count: count, into: y + row * count) }
}

/// LayerNorm: y = (x - mean) / sqrt(var + ε) * weight + bias (population variance, as PyTorch).
public func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      epsilon: Float, count: Int, into y: UnsafeMutablePointer<Float>) {
    var sum: Float = 0
    for i in 0..<count { sum += x[i] }
    let mean = sum / Float(count)
    var variance: Float = 0
    for i in 0..<count { let d = x[i] - mean; variance += d * d }
    variance /= Float(count)
    let scale = 1 / (variance + epsilon).squareRoot()
    if let bias {
        for i in 0..<count { y[i] = (x[i] - mean) * scale * weight[i] + bias[i] }
    } else {
        for i in 0..<count { y[i] = (x[i] - mean) * scale * weight[i] }
    }
}

/// LayerNorm of each of `rows` rows.
public func layerNorm(rows: Int, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                      epsilon: Float, count: Int, into y: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        layerNorm(x + row * count, weight: weight, bias: bias, epsilon: epsilon, count: count, into: y + row * count)
    }
}

/// Σ x², accumulated in 8 lanes.
@inline(__always)
func sumOfSquares(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= count {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        lanes += v * v
        i += 8
    }
    var sum = lanes.sum()
    while i < count { sum += x[i] * x[i]; i += 1 }
    return sum
}

/// LayerNorm of residual sums, in place: `x[r] = LayerNorm(x[r] + (add[r] + addBias))` for
/// each of `rows` rows of `weight.count` values (a post-norm block's sublayer output, its
/// bias and the residual in one pass), the rows spread over the context's threads. `add` and
/// `addBias` may be nil (a plain LayerNorm).
public func addLayerNorm(rows: Int, _ x: UnsafeMutablePointer<Float>, adding add: UnsafePointer<Float>?, addBias: [Float]?,
                         weight: [Float], bias: [Float]?, epsilon: Float, context: ComputeContext) {
    let width = weight.count
    precondition(addBias == nil || addBias!.count == width, "one added bias per column")
    precondition(bias == nil || bias!.count == width, "one bias per column")
    weight.withUnsafeBufferPointer { w in
        withOptionalBuffer(addBias) { extra in
            withOptionalBuffer(bias) { b in
                let parallel = rows * width >= parallelElementwiseCount
                context.team(parallel: parallel).forChunks(of: rows, minimumChunk: max(1, 4096 / max(1, width))) { part in
                    let first = part.lowerBound * width
                    context.kernels.c.add_layer_norm(x + first, add.map { $0 + first }, extra, part.count, width, w.baseAddress!, b,
                                                     epsilon)
                }
            }
        }
    }
}
