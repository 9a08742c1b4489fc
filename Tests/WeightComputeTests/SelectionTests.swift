import Foundation
import Testing
import WeightCompute

/// Top-k routing and token sampling against plain loops in Double.
@Suite struct RoutingTests {
    /// Indices by decreasing value, ties to the lower index; weights as the router's options say.
    static func reference(_ logits: [Float], k: Int, softmaxFirst: Bool, normalize: Bool) -> (experts: [Int], weights: [Double]) {
        func softmax(_ x: [Double]) -> [Double] {
            let m = x.max()!
            let e = x.map { exp($0 - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        let values = softmaxFirst ? softmax(logits.doubles) : logits.doubles
        var order = Array(logits.indices)
        for i in 0..<order.count {                                      // selection sort, stable by index
            var best = i
            for j in (i + 1)..<max(i + 1, order.count) where values[order[j]] > values[order[best]] { best = j }
            order.insert(order.remove(at: best), at: i)
        }
        let chosen = Array(order.prefix(k))
        var weights = chosen.map { values[$0] }
        if !softmaxFirst {
            weights = softmax(weights)
        } else if normalize {
            let sum = weights.reduce(0, +)
            weights = weights.map { $0 / sum }
        }
        return (chosen, weights)
    }

    @Test("top-k experts and weights, with ties, for every option")
    func topK() {
        var inputs = RandomInputs(seed: 60)
        for (experts, k) in [(1, 1), (4, 2), (8, 2), (60, 4), (128, 8), (7, 7)] {
            for tied in [false, true] {
                // Drawing from a handful of values forces ties.
                let logits = tied ? inputs.integers(experts, in: 0..<4).map { Float($0) * 0.5 } : inputs.floats(experts, in: -4...4)
                for (softmaxFirst, normalize) in [(true, true), (true, false), (false, false)] {
                    let route = logits.withUnsafeBufferPointer {
                        routeTopK(logits: $0.baseAddress!, count: experts, k: k, softmaxFirst: softmaxFirst, normalize: normalize)
                    }
                    let expected = Self.reference(logits, k: k, softmaxFirst: softmaxFirst, normalize: normalize)
                    #expect(route.experts == expected.experts, "\(experts) experts, top \(k), tied \(tied)")
                    expectClose(route.weights, expected.weights, tolerance: 1e-6, "\(experts) experts, top \(k), softmax first \(softmaxFirst)")
                }
            }
        }
    }
}

@Suite struct SamplingTests {
    @Test("argmax takes the first of equal maxima")
    func argmaxTies() {
        var inputs = RandomInputs(seed: 70)
        for count in awkwardLengths {
            let x = inputs.integers(count, in: 0..<5).map(Float.init)
            let expected = x.firstIndex(of: x.max()!)!
            #expect(x.withUnsafeBufferPointer { argmax($0.baseAddress!, count: count) } == expected)
        }
    }

    @Test("a uniform draw picks the first token whose cumulative probability exceeds it")
    func inverseTransform() {
        var inputs = RandomInputs(seed: 71)
        let options = [SamplingOptions(temperature: 0.8), SamplingOptions(temperature: 1, topK: 5), SamplingOptions(temperature: 1.2, topP: 0.7)]
        for count in [1, 9, 100] {
            let logits = inputs.floats(count, in: -3...3)
            for option in options {
                let probabilities = logits.withUnsafeBufferPointer { samplingDistribution(logits: $0.baseAddress!, count: count, options: option) }
                #expect(abs(probabilities.reduce(0.0) { $0 + Double($1) } - 1) <= 1e-5)
                for _ in 0..<50 {
                    let u = inputs.generator.uniform()
                    var cumulative = 0.0
                    let expected = probabilities.indices.first { cumulative += Double(probabilities[$0]); return u < cumulative }
                        ?? probabilities.lastIndex { $0 > 0 }!
                    let token = logits.withUnsafeBufferPointer { sampleToken(logits: $0.baseAddress!, count: count, options: option, uniform: u) }
                    #expect(token == expected, "u \(u), \(option)")
                    #expect(probabilities[token] > 0)
                }
            }
        }
    }

    @Test("top-k keeps the k largest (and values tied with the k-th), top-p the smallest head reaching p")
    func filters() {
        var inputs = RandomInputs(seed: 72)
        for count in [2, 10, 57] {
            let logits = inputs.floats(count, in: -3...3)
            let sorted = logits.sorted(by: >)
            for k in [1, 3, count] {
                let kept = logits.withUnsafeBufferPointer {
                    samplingDistribution(logits: $0.baseAddress!, count: count, options: SamplingOptions(topK: k))
                }
                #expect(zip(logits, kept).allSatisfy { ($0 >= sorted[min(k, count) - 1]) == ($1 > 0) }, "top-\(k) of \(count)")
            }
            for p: Float in [0.05, 0.5, 0.9, 0.999] {
                let full = logits.withUnsafeBufferPointer { samplingDistribution(logits: $0.baseAddress!, count: count, options: SamplingOptions()) }
                let kept = logits.withUnsafeBufferPointer {
                    samplingDistribution(logits: $0.baseAddress!, count: count, options: SamplingOptions(topP: p))
                }
                // The kept tokens are the most likely ones, and the fewest whose total reaches p.
                let keptCount = kept.filter { $0 > 0 }.count
                let descending = full.doubles.sorted(by: >)
                let needed = (1...count).first { descending.prefix($0).reduce(0, +) >= Double(p) - 1e-6 } ?? count
                #expect(abs(keptCount - needed) <= (keptCount == needed ? 0 : 1), "top-p \(p) of \(count): kept \(keptCount), needed \(needed)")
                let threshold = descending[keptCount - 1]
                #expect(zip(full, kept).allSatisfy { ($1 > 0) == (Double($0) >= threshold) })
            }
        }
    }

    @Test("the seeded generator repeats for a seed, differs across seeds and draws in [0, 1)")
    func seededGenerator() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<1000).map { _ in a.uniform() }
        #expect(first == (0..<1000).map { _ in b.uniform() })
        #expect(first != (0..<1000).map { _ in c.uniform() })
        #expect(first.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(abs(first.reduce(0, +) / 1000 - 0.5) < 0.05)
    }
}
