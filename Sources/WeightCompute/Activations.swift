import CKernels
import WeightFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// x * sigmoid(x), in place, with the kernels of `kernels`.
public func silu(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: Kernels = .best) {
    kernels.c.sigmoid_gate(x, count, 1)
}

/// SwiGLU: out = silu(gate) * up.
public func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                   kernels: Kernels = .best) {
    kernels.c.swiglu(gate, up, out, count)
}

/// SwiGLU spread over the context's threads once `count` is large enough to pay for waking
/// them (a prefill's feed-forward width times its tokens); the same values as `swiglu`.
public func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                   context: ComputeContext) {
    context.team(parallel: count >= parallelElementwiseCount).forChunks(of: count, minimumChunk: 4096) { part in
        swiglu(gate: gate + part.lowerBound, up: up + part.lowerBound, count: part.count, into: out + part.lowerBound,
               kernels: context.kernels)
    }
}

/// Elements from which an element-wise function is split over threads.
let parallelElementwiseCount = 1 << 16

/// Exact GELU: x/2 · (1 + erf(x/√2)), in place (the `bias_gelu` kernel: with AVX-512, erf
/// within 1.5e-7; otherwise libm's erff).
public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: Kernels = .best) {
    kernels.c.bias_gelu(x, 1, count, nil)
}

/// Exact GELU of `rows` rows of `width` values in place, `bias` (one per column) added first:
/// a linear layer's bias and activation in one pass, the rows spread over the context's
/// threads.
public func biasGELU(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: [Float]?, context: ComputeContext) {
    precondition(bias == nil || bias!.count == width, "one bias per column")
    let parallel = rows * width >= parallelElementwiseCount
    withOptionalBuffer(bias) { b in
        context.team(parallel: parallel).forChunks(of: rows, minimumChunk: max(1, 4096 / max(1, width))) { part in
            context.kernels.c.bias_gelu(x + part.lowerBound * width, part.count, width, b)
        }
    }
}

/// Calls `body` with the array's storage, or nil.
@inline(__always)
func withOptionalBuffer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// GELU with the tanh approximation (`gelu_pytorch_tanh`), in place.
public func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
    }
}

/// CLIP's quick GELU: x * sigmoid(1.702 x), in place.
public func quickGelu(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: Kernels = .best) {
    kernels.c.sigmoid_gate(x, count, 1.702)
}

/// ReLU, in place.
public func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where x[i] < 0 { x[i] = 0 }
}

/// The activations configs name, applied in place.
public enum ActivationFunction: Sendable {
    case silu, gelu, geluTanh, quickGelu, relu

    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: Kernels = .best) {
        switch self {
        case .silu: WeightCompute.silu(x, count: count, kernels: kernels)
        case .gelu: WeightCompute.gelu(x, count: count, kernels: kernels)
        case .geluTanh: WeightCompute.geluTanh(x, count: count)
        case .quickGelu: WeightCompute.quickGelu(x, count: count, kernels: kernels)
        case .relu: WeightCompute.relu(x, count: count)
        }
    }
}

/// Softmax in place with the vector kernels (16 lanes of exp with AVX-512): exp(x - max) / Σ,
/// a row of -infinity becoming zeros.
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: Kernels) {
    kernels.c.softmax(x, count)
}

/// Softmax in place: exp(x - max) / Σ.
public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maximum = -Float.infinity
    for i in 0..<count where x[i] > maximum { maximum = x[i] }
    if maximum == -.infinity {
        for i in 0..<count { x[i] = 0 }
        return
    }
    var sum: Float = 0
    for i in 0..<count {
        let e = expf(x[i] - maximum)
        x[i] = e
        sum += e
    }
    let inverse = 1 / sum
    for i in 0..<count { x[i] *= inverse }
}
