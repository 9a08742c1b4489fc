#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A seeded source of uniform numbers: xoshiro256** (Blackman and Vigna) seeded by SplitMix64
/// from a 64-bit seed. The same seed gives the same draws on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

/// Sampling settings, applied in the order transformers applies its logits warpers:
/// temperature, then top-k, then top-p.
public struct SamplingOptions: Sendable, Equatable {
    /// Divides the logits; 0 means greedy (argmax).
    public var temperature: Float
    /// Keep only the k most likely tokens (0: no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: no limit).
    public var topP: Float

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    public static let greedy = SamplingOptions(temperature: 0)

    public var isGreedy: Bool { temperature == 0 }
}

/// The probability of every token after temperature, top-k and top-p (zeros for removed tokens).
///
/// Top-p keeps, from the most likely down, the smallest set whose probability reaches p: a token
/// is dropped when the probability of all tokens less likely than it together with it is at most
/// 1 - p (transformers' TopPLogitsWarper; the most likely token is always kept).
public func samplingDistribution(logits: UnsafePointer<Float>, count: Int, options: SamplingOptions) -> [Float] {
    var scaled = (0..<count).map { logits[$0] / (options.temperature > 0 ? options.temperature : 1) }
    if options.topK > 0 && options.topK < count {
        var sorted = scaled
        sorted.sort(by: >)
        let threshold = sorted[options.topK - 1]
        for i in 0..<count where scaled[i] < threshold { scaled[i] = -.infinity }
    }
    if options.topP < 1 {
        var probabilities = scaled
        probabilities.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) }
        let ascending = (0..<count).sorted { probabilities[$0] != probabilities[$1] ? probabilities[$0] < probabilities[$1] : $0 > $1 }
        var cumulative: Float = 0
        for (rank, index) in ascending.enumerated() {
            cumulative += probabilities[index]
            if cumulative <= 1 - options.topP && rank < count - 1 { scaled[index] = -.infinity }
        }
    }
    scaled.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, count: count) }
    return scaled
}

/// Draws a token: the greedy argmax, or the first token (in vocabulary order) at which the
/// cumulative filtered probability exceeds the uniform draw `uniform` in [0, 1).
public func sampleToken(logits: UnsafePointer<Float>, count: Int, options: SamplingOptions, uniform: Double) -> Int {
    if options.isGreedy { return argmax(logits, count: count) }
    let probabilities = samplingDistribution(logits: logits, count: count, options: options)
    var cumulative = 0.0
    var last = 0
    for (index, probability) in probabilities.enumerated() where probability > 0 {
        cumulative += Double(probability)
        last = index
        if uniform < cumulative { return index }
    }
    return last
}

/// Index of the largest value (the first one on ties, as torch.argmax).
public func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for i in 1..<max(count, 1) where x[i] > x[best] { best = i }
    return best
}
