import WeightArchitecture
import WeightCompute

/// A linear layer `y = x · Wᵀ + b` with the weight kept in its stored type (any ggml type a
/// `WeightMatrix` reads) and an optional float bias.
struct Linear {
    var weight: WeightMatrix
    var bias: [Float]?
    /// LoRA updates applied unmerged (LowRankUpdate.swift); empty without adapters.
    var lowRank: [LowRankUpdate] = []

    var inputSize: Int { weight.columns }
    var outputSize: Int { weight.rows }

    /// y[rows, out] = x[rows, in] · Wᵀ (+ b); without `addingBias` the caller adds the bias in
    /// a pass of its own (a fused epilogue: GELU, a residual LayerNorm).
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext,
               addingBias: Bool = true) {
        weight.apply(x, count: rows, into: y, context: context)
        applyLowRank(x, rows: rows, into: y, context: context)
        if addingBias { addBias(bias, to: y, rows: rows, width: weight.rows, context: context) }
    }

    /// Several layers that read the same x (q, k and v; gate and up): for one token with float
    /// or Q8_0 weights their products share one loop over the context's threads.
    static func apply(_ layers: [(Linear, UnsafeMutablePointer<Float>)], to x: UnsafePointer<Float>, rows: Int,
                      context: ComputeContext) {
        WeightMatrix.apply(layers.map { ($0.0.weight, $0.1) }, to: x, count: rows, context: context)
        for (layer, y) in layers {
            layer.applyLowRank(x, rows: rows, into: y, context: context)
            addBias(layer.bias, to: y, rows: rows, width: layer.outputSize, context: context)
        }
    }
}

/// A normalisation layer over rows of `weight.count` values: RMSNorm (`x / rms(x) · w`) or
/// LayerNorm (`(x - mean) / std · w + b`). Gemma's `1 + w` is folded into `weight` when the
/// layer is bound.
struct Norm {
    var kind: NormKind
    var weight: [Float]
    var bias: [Float]?
    var epsilon: Float

    var width: Int { weight.count }

    /// Normalises `rows` rows of `x` into `y` (which may be `x`).
    func apply(rows: Int, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            switch kind {
            case .rms:
                rmsNorm(rows: rows, x, weight: w.baseAddress!, epsilon: epsilon, count: w.count, into: y)
            case .layer:
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        layerNorm(rows: rows, x, weight: w.baseAddress!, bias: b.baseAddress!, epsilon: epsilon, count: w.count, into: y)
                    }
                } else {
                    layerNorm(rows: rows, x, weight: w.baseAddress!, bias: nil, epsilon: epsilon, count: w.count, into: y)
                }
            }
        }
    }
}

@inline(__always)
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count { x[i] += y[i] }
}

/// Adds `bias` to each of `rows` rows of `width` values, many rows spread over the context's
/// threads.
func addBias(_ bias: [Float]?, to x: UnsafeMutablePointer<Float>, rows: Int, width: Int, context: ComputeContext) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { b in
        let add = { (part: Range<Int>) in
            for row in part {
                let line = x + row * width
                for i in 0..<width { line[i] += b[i] }
            }
        }
        if rows * width >= 1 << 16 {
            context.forChunks(of: rows, minimumChunk: max(1, 4096 / max(1, width)), add)
        } else {
            add(0..<rows)
        }
    }
}

extension Activation {
    /// The compute kernel for this activation.
    var function: ActivationFunction {
        switch self {
        case .silu: .silu
        case .gelu: .gelu
        case .geluTanh: .geluTanh
        case .quickGelu: .quickGelu
        case .relu: .relu
        }
    }
}
