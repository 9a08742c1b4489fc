import Foundation
import Testing
import WeightCompute
import WeightFormats

/// Attention over the KV cache against the textbook loop: for each query head h, kv head
/// h / (heads / kvHeads), softmax over allowed positions of scale · q·k, then Σ p · v.
@Suite struct AttentionTests {
    /// One layer's history: every token's keys and values, `[tokens, kvHeads * size]`.
    struct History {
        var keys: [Float] = [], values: [Float] = []
    }

    static func reference(queries: [Float], history: History, start: Int, count: Int, shape: AttentionShape) -> [Double] {
        let group = shape.heads / shape.kvHeads
        var output = [Double](repeating: 0, count: count * shape.heads * shape.valueSize)
        for row in 0..<count {
            let position = start + row
            for head in 0..<shape.heads {
                let kvHead = head / group
                var allowed = Array(0..<(start + count))
                if shape.causal { allowed = allowed.filter { $0 <= position } }
                if let window = shape.window { allowed = allowed.filter { $0 > position - window } }
                let scores = allowed.map { j in
                    (0..<shape.keySize).reduce(0.0) { sum, d in
                        sum + Double(queries[(row * shape.heads + head) * shape.keySize + d])
                            * Double(history.keys[(j * shape.kvHeads + kvHead) * shape.keySize + d])
                    } * Double(shape.scale)
                }
                let maximum = scores.max() ?? 0
                let weights = scores.map { exp($0 - maximum) }
                let total = weights.reduce(0, +)
                for d in 0..<shape.valueSize {
                    var sum = 0.0
                    for (j, weight) in zip(allowed, weights) {
                        sum += weight / total * Double(history.values[(j * shape.kvHeads + kvHead) * shape.valueSize + d])
                    }
                    output[(row * shape.heads + head) * shape.valueSize + d] = sum
                }
            }
        }
        return output
    }

    /// (heads, kvHeads, keySize, valueSize): multi-head, GQA ratios 2, 4 and 7, multi-query,
    /// key and value sizes that differ, odd head sizes.
    static let shapes: [(Int, Int, Int, Int)] = [(2, 2, 8, 8), (4, 2, 16, 16), (8, 2, 12, 20), (7, 1, 9, 5), (14, 2, 64, 64), (3, 3, 1, 3)]

    @Test("prefill then token-by-token decode, causal, with GQA", arguments: 0..<6, Kernels.allSupported)
    func causal(shapeIndex: Int, kernels: Kernels) {
        let (heads, kvHeads, keySize, valueSize) = Self.shapes[shapeIndex]
        for (scale, window) in [(nil, nil), (Float(0.3), nil), (nil, 4)] as [(Float?, Int?)] {
            let shape = AttentionShape(heads: heads, kvHeads: kvHeads, keySize: keySize, valueSize: valueSize, scale: scale, window: window)
            // Prefill spreads heads over threads; 3 threads split odd head counts unevenly.
            for threads in [1, 2, 3] {
                Self.run(shape: shape, steps: [5, 1, 1, 3, 1, 7], seed: UInt64(shapeIndex), threads: threads, kernels: kernels)
            }
        }
    }

    @Test("decode over a context long enough to split heads over threads", arguments: Kernels.allSupported)
    func decodeOnThreads(kernels: Kernels) {
        for window in [nil, 16] as [Int?] {
            let shape = AttentionShape(heads: 14, kvHeads: 2, keySize: 64, valueSize: 64, window: window)
            for threads in [1, 2, 3] { Self.run(shape: shape, steps: [60, 1, 1], seed: 42, threads: threads, kernels: kernels) }
        }
    }

    @Test("bidirectional attention sees every cached position")
    func bidirectional() {
        let shape = AttentionShape(heads: 6, kvHeads: 3, keySize: 10, valueSize: 10, causal: false)
        Self.run(shape: shape, steps: [9], seed: 40)
        Self.run(shape: shape, steps: [1], seed: 41)
    }

    /// Appends `steps` tokens at a time to a cache and checks every step's output against the
    /// reference over the whole history.
    static func run(shape: AttentionShape, steps: [Int], seed: UInt64, threads: Int = 1, kernels: Kernels = .best) {
        var inputs = RandomInputs(seed: seed)
        let capacity = steps.reduce(0, +) + 2
        let context = ComputeContext(threads: threads, kernels: kernels)
        guard let cache = try? KVCacheLayer(kvHeads: shape.kvHeads, keySize: shape.keySize, valueSize: shape.valueSize, capacity: capacity) else {
            Issue.record("cannot allocate the cache")
            return
        }
        var history = History()
        var start = 0
        for count in steps {
            let keys = inputs.floats(count * shape.kvHeads * shape.keySize, in: -2...2)
            let values = inputs.floats(count * shape.kvHeads * shape.valueSize)
            let queries = inputs.floats(count * shape.heads * shape.keySize, in: -2...2)
            history.keys += keys
            history.values += values
            cache.store(keys: keys, values: values, start: start, count: count)
            var scores = [Float](repeating: .nan, count: count * (start + count))
            var output = [Float](repeating: .nan, count: count * shape.heads * shape.valueSize)
            output.withUnsafeMutableBufferPointer { out in
                scores.withUnsafeMutableBufferPointer { scratch in
                    attention(queries: queries, cache: cache, start: start, count: count, shape: shape,
                              scores: scratch.baseAddress!, into: out.baseAddress!, context: context)
                }
            }
            let reference = Self.reference(queries: queries, history: history, start: start, count: count, shape: shape)
            expectClose(output, reference, tolerance: 2e-6,
                        "heads \(shape.heads)/\(shape.kvHeads), sizes \(shape.keySize)/\(shape.valueSize), window \(shape.window.map(String.init) ?? "none"), tokens \(start)..<\(start + count)")
            start += count
        }
    }
}

/// The sgemm wrapper with leading dimensions wider than the matrices, alpha and beta.
@Suite struct BLASTests {
    @Test("C = alpha · A · Bᵀ + beta · C and C = alpha · A · B + beta · C")
    func products() {
        var inputs = RandomInputs(seed: 50)
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 1, 100)] {
            let (lda, ldbT, ldbN, ldc) = (k + 3, k + 1, n + 2, n + 5)
            let a = inputs.floats(m * lda), bTransposed = inputs.floats(n * ldbT), b = inputs.floats(k * ldbN)
            let c0 = inputs.floats(m * ldc)
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 2)] {
                var transposed = c0, plain = c0
                transposed.withUnsafeMutableBufferPointer {
                    BLAS.multiplyTransposed(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: bTransposed, ldb: ldbT,
                                            beta: beta, c: $0.baseAddress!, ldc: ldc)
                }
                plain.withUnsafeMutableBufferPointer {
                    BLAS.multiply(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldbN, beta: beta, c: $0.baseAddress!, ldc: ldc)
                }
                var expectedTransposed = c0.doubles, expectedPlain = c0.doubles
                for i in 0..<m {
                    for j in 0..<n {
                        var sumT = 0.0, sumN = 0.0
                        for p in 0..<k {
                            sumT += Double(a[i * lda + p]) * Double(bTransposed[j * ldbT + p])
                            sumN += Double(a[i * lda + p]) * Double(b[p * ldbN + j])
                        }
                        expectedTransposed[i * ldc + j] = Double(alpha) * sumT + Double(beta) * Double(c0[i * ldc + j])
                        expectedPlain[i * ldc + j] = Double(alpha) * sumN + Double(beta) * Double(c0[i * ldc + j])
                    }
                }
                // Elements between rows (j ≥ n) are left as they were.
                expectClose(transposed, expectedTransposed, tolerance: 1e-5, "Bᵀ \(m)x\(n)x\(k), α \(alpha), β \(beta)")
                expectClose(plain, expectedPlain, tolerance: 1e-5, "B \(m)x\(n)x\(k), α \(alpha), β \(beta)")
            }
        }
    }
}
