import Testing
import WeightCompute

/// The sgemm attention over all positions against the textbook loop: every query attends to
/// every key, softmax(q·k · scale) weighted sum of values, per head.
@Suite struct BidirectionalAttentionTests {
    static func plainAttention(queries: [Float], keys: [Float], values: [Float], queryCount: Int, keyCount: Int,
                               heads: Int, kvHeads: Int, keySize: Int, valueSize: Int) -> [Float] {
        var output = [Float](repeating: 0, count: queryCount * heads * valueSize)
        let scale = 1 / Double(keySize).squareRoot()
        for head in 0..<heads {
            let kvHead = head / (heads / kvHeads)
            for i in 0..<queryCount {
                var weights = (0..<keyCount).map { j in
                    (0..<keySize).reduce(0.0) { sum, d in
                        sum + Double(queries[i * heads * keySize + head * keySize + d]) * Double(keys[j * kvHeads * keySize + kvHead * keySize + d])
                    } * scale
                }
                let maximum = weights.max()!
                weights = weights.map { libmExp($0 - maximum) }
                let total = weights.reduce(0, +)
                for d in 0..<valueSize {
                    var sum = 0.0
                    for j in 0..<keyCount { sum += weights[j] / total * Double(values[j * kvHeads * valueSize + kvHead * valueSize + d]) }
                    output[i * heads * valueSize + head * valueSize + d] = Float(sum)
                }
            }
        }
        return output
    }

    @Test("matches the plain loop", arguments: [(17, 17, 4, 4), (1, 30, 2, 2), (9, 5, 4, 2)])
    func matchesLoop(sizes: (Int, Int, Int, Int)) {
        let (queryCount, keyCount, heads, kvHeads) = sizes
        let keySize = 8, valueSize = 6
        var generator = SeededGenerator(seed: 7)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.uniform() * 4 - 2) } }
        let queries = random(queryCount * heads * keySize)
        let keys = random(keyCount * kvHeads * keySize)
        let values = random(keyCount * kvHeads * valueSize)
        var output = [Float](repeating: 0, count: queryCount * heads * valueSize)
        var scores = [Float](repeating: 0, count: queryCount * keyCount)
        let shape = AttentionShape(heads: heads, kvHeads: kvHeads, keySize: keySize, valueSize: valueSize, causal: false)
        bidirectionalAttention(queries: queries, keys: keys, values: values, queryCount: queryCount, keyCount: keyCount,
                               shape: shape, scores: &scores, into: &output, context: ComputeContext(threads: 2))
        let expected = Self.plainAttention(queries: queries, keys: keys, values: values, queryCount: queryCount,
                                           keyCount: keyCount, heads: heads, kvHeads: kvHeads, keySize: keySize, valueSize: valueSize)
        let worst = zip(output, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5)
    }

    @Test("packed sequences attend within their own rows only, on 1 to 3 threads", arguments: [1, 2, 3])
    func packedSequences(threads: Int) {
        let heads = 4, kvHeads = 2, keySize = 8, valueSize = 6
        let lengths = [5, 1, 17, 2, 9, 33, 3]
        var sequences: [Range<Int>] = []
        for length in lengths { sequences.append((sequences.last?.upperBound ?? 0)..<(sequences.last?.upperBound ?? 0) + length) }
        let rows = sequences.last!.upperBound
        var generator = SeededGenerator(seed: 9)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.uniform() * 4 - 2) } }
        let queries = random(rows * heads * keySize), keys = random(rows * kvHeads * keySize)
        let values = random(rows * kvHeads * valueSize)
        var output = [Float](repeating: .nan, count: rows * heads * valueSize)
        let shape = AttentionShape(heads: heads, kvHeads: kvHeads, keySize: keySize, valueSize: valueSize, causal: false)
        packedBidirectionalAttention(queries: queries, keys: keys, values: values, sequences: sequences, shape: shape,
                                     into: &output, context: ComputeContext(threads: threads))
        for sequence in sequences {
            let expected = Self.plainAttention(
                queries: Array(queries[sequence.lowerBound * heads * keySize..<sequence.upperBound * heads * keySize]),
                keys: Array(keys[sequence.lowerBound * kvHeads * keySize..<sequence.upperBound * kvHeads * keySize]),
                values: Array(values[sequence.lowerBound * kvHeads * valueSize..<sequence.upperBound * kvHeads * valueSize]),
                queryCount: sequence.count, keyCount: sequence.count, heads: heads, kvHeads: kvHeads, keySize: keySize,
                valueSize: valueSize)
            let actual = output[sequence.lowerBound * heads * valueSize..<sequence.upperBound * heads * valueSize]
            let worst = zip(actual, expected).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "sequence \(sequence)")
        }
    }
}

#if canImport(Glibc)
import Glibc
func libmExp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
func libmExp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
