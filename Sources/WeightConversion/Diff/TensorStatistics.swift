/// Sums over the elements of two tensors `a` (the reference) and `b`, accumulated in Double.
/// Partial sums over disjoint pieces combine with `merge`, so a tensor can be compared a chunk
/// of rows at a time on several threads.
public struct TensorStatistics: Sendable, Equatable {
    /// Σ (a - b)².
    public var squaredError = 0.0
    /// Σ a².
    public var squaredNormA = 0.0
    /// Σ b².
    public var squaredNormB = 0.0
    /// Σ a·b.
    public var dotProduct = 0.0
    /// max |a - b| (NaN when any difference is NaN).
    public var maxAbsoluteError = 0.0
    public var elementCount = 0

    public init() {}

    /// Adds `count` element pairs.
    public mutating func accumulate(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        var error = 0.0, normA = 0.0, normB = 0.0, dot = 0.0, maximum = maxAbsoluteError
        for i in 0..<count {
            let x = Double(a[i]), y = Double(b[i])
            let d = x - y
            error += d * d
            normA += x * x
            normB += y * y
            dot += x * y
            let magnitude = abs(d)
            if magnitude > maximum || magnitude.isNaN { maximum = magnitude.isNaN || maximum.isNaN ? .nan : magnitude }
        }
        squaredError += error
        squaredNormA += normA
        squaredNormB += normB
        dotProduct += dot
        maxAbsoluteError = maximum
        elementCount += count
    }

    /// Adds another piece's sums.
    public mutating func merge(_ other: TensorStatistics) {
        squaredError += other.squaredError
        squaredNormA += other.squaredNormA
        squaredNormB += other.squaredNormB
        dotProduct += other.dotProduct
        if other.maxAbsoluteError.isNaN || maxAbsoluteError.isNaN {
            maxAbsoluteError = .nan
        } else {
            maxAbsoluteError = max(maxAbsoluteError, other.maxAbsoluteError)
        }
        elementCount += other.elementCount
    }

    /// ‖a - b‖ / ‖a‖: 0 when both are zero, infinity when only `a` is.
    public var relativeL2Error: Double {
        if squaredNormA == 0 { return squaredError == 0 ? 0 : .infinity }
        return (squaredError / squaredNormA).squareRoot()
    }

    /// a·b / (‖a‖ ‖b‖): 1 when both are zero, 0 when only one is.
    public var cosineSimilarity: Double {
        if squaredNormA == 0 && squaredNormB == 0 { return 1 }
        if squaredNormA == 0 || squaredNormB == 0 { return 0 }
        return dotProduct / (squaredNormA.squareRoot() * squaredNormB.squareRoot())
    }
}
