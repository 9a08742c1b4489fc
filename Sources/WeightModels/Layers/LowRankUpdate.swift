import WeightAdapters
import WeightCompute
import WeightFormats

/// A LoRA update applied at run time, unmerged, beside a linear layer's stored weight (of any
/// type, quantised included): `y += scale · B (A x)` in float32, or with DoRA
/// `y = m / ‖W + scale · B A‖ ⊙ (y + scale · B (A x))` per output row (PEFT's `dora.py`; the norm
/// is computed once, when the update is bound, and the bias is added after).
struct LowRankUpdate {
    /// `[rank, inputs]`.
    let down: WeightMatrix
    /// `[outputs, rank]`.
    let up: WeightMatrix
    let scale: Float
    /// DoRA's `m / ‖W'‖` per output row.
    let rowScale: [Float]?

    var rank: Int { down.rows }

    /// `y[rows, outputs]` (already `x · Wᵀ` and any earlier updates) updated in place.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let outputs = up.rows
        let reduced = UnsafeMutablePointer<Float>.allocate(capacity: rows * rank)
        let delta = UnsafeMutablePointer<Float>.allocate(capacity: rows * outputs)
        defer { reduced.deallocate(); delta.deallocate() }
        down.apply(x, count: rows, into: reduced, context: context)
        up.apply(reduced, count: rows, into: delta, context: context)
        let s = scale
        if let rowScale {
            rowScale.withUnsafeBufferPointer { m in
                for row in 0..<rows {
                    let line = y + row * outputs, change = delta + row * outputs
                    for i in 0..<outputs { line[i] = m[i] * (line[i] + s * change[i]) }
                }
            }
        } else {
            for i in 0..<(rows * outputs) { y[i] += s * delta[i] }
        }
    }

    /// The update of `resolved` against `weight`; `earlier` are the updates the stack applies to
    /// the same weight before it (DoRA's norm is over the weight they leave).
    init(_ resolved: ResolvedUpdate, weight: WeightMatrix, earlier: [ResolvedUpdate]) {
        let module = resolved.module
        down = FloatStorage.matrix(module.a, rows: module.rank, columns: module.inputs)
        up = FloatStorage.matrix(module.b, rows: module.outputs, columns: module.rank)
        scale = resolved.scale
        guard let magnitude = module.magnitude else {
            rowScale = nil
            return
        }
        var scales = [Float](repeating: 0, count: module.outputs)
        let line = UnsafeMutablePointer<Float>.allocate(capacity: weight.columns)
        defer { line.deallocate() }
        for row in 0..<module.outputs {
            weight.decodeRow(row, into: line)
            for previous in earlier { previous.module.addDeltaRow(row, scale: previous.scale, into: line) }
            module.addDeltaRow(row, scale: resolved.scale, into: line)
            var sum: Double = 0
            for j in 0..<weight.columns { sum += Double(line[j]) * Double(line[j]) }
            let norm = sum.squareRoot()
            scales[row] = norm > 0 ? Float(Double(magnitude[row]) / norm) : 0
        }
        rowScale = scales
    }
}

/// Float32 values owned by the matrices made from them.
final class FloatStorage {
    let pointer: UnsafeMutableBufferPointer<Float>

    init(_ values: [Float]) {
        pointer = .allocate(capacity: max(values.count, 1))
        _ = pointer.initialize(from: values)
    }

    deinit { pointer.deallocate() }

    /// A float32 `WeightMatrix` `[rows, columns]` over a copy of `values`.
    static func matrix(_ values: [Float], rows: Int, columns: Int) -> WeightMatrix {
        let storage = FloatStorage(values)
        return WeightMatrix(rows: rows, columns: columns, type: .f32, base: UnsafeRawPointer(storage.pointer.baseAddress!), owner: storage)
    }
}

extension Linear {
    /// The layer's LoRA updates, in stack order, after `x · Wᵀ` and before the bias.
    func applyLowRank(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, context: ComputeContext) {
        for update in lowRank { update.apply(x, rows: rows, into: y, context: context) }
    }
}
