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

/// Exact GELU: x/2 · (1 + erf(x/√2)), in place.
public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)) }
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
        case .gelu: WeightCompute.gelu(x, count: count)
        case .geluTanh: WeightCompute.geluTanh(x, count: count)
        case .quickGelu: WeightCompute.quickGelu(x, count: count, kernels: kernels)
        case .relu: WeightCompute.relu(x, count: count)
        }
    }
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
