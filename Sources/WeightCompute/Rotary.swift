#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embeddings: the inverse frequencies of one model, applied to query and key
/// heads at given positions.
///
/// Frequencies follow Hugging Face's `_compute_*_parameters` (default, linear, dynamic, llama3,
/// yarn, longrope) in float32: inv_freq[i] = 1 / base^(2i / d), angles = position * inv_freq, and the
/// cosines and sines scaled by the method's attention factor (1 except for yarn).
public struct RotaryTable: Sendable {
    public enum Layout: Sendable {
        /// Rotate-half: element i pairs with element i + d/2 (Hugging Face).
        case halves
        /// Adjacent pairs (2i, 2i + 1) (Meta's original code, llama.cpp's "normal" rope).
        case interleaved
    }

    public enum Scaling: Sendable, Equatable {
        case none
        /// Positions divided by `factor`.
        case linear(factor: Float)
        /// NTK-aware base scaling once the sequence passes the original context.
        case dynamic(factor: Float, originalContext: Int)
        /// Llama 3.1's frequency-dependent scaling.
        case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContext: Int)
        /// Each inverse frequency divided by its own factor (llama.cpp's `rope_freqs` tensor).
        case frequencyFactors([Float])
        /// YaRN interpolation with its attention factor.
        case yarn(factor: Float, originalContext: Int, betaFast: Float, betaSlow: Float, attentionFactor: Float?)
        /// LongRoPE (Phi-3, `_compute_longrope_parameters`): inv_freq[i] = 1 / (factor[i] · base^(2i/d))
        /// with the short factors while the sequence is within `originalContext` tokens and the
        /// long ones beyond (transformers' `longrope_frequency_update`); cos and sin multiplied
        /// by `attentionFactor` at every length.
        case longrope(shortFactors: [Float], longFactors: [Float], originalContext: Int, attentionFactor: Float)
    }

    /// Number of rotated dimensions per head (even).
    public let dimensions: Int
    public let layout: Layout
    public let base: Float
    public let scaling: Scaling
    /// inv_freq, `dimensions / 2` values.
    public private(set) var inverseFrequencies: [Float]
    /// Multiplies cos and sin (yarn's mscale, longrope's attention factor; 1 otherwise).
    public private(set) var attentionFactor: Float = 1
    /// longrope's inverse frequencies for sequences past the original context.
    private var longFrequencies: [Float]?

    public init(dimensions: Int, base: Float, layout: Layout, scaling: Scaling = .none) {
        precondition(dimensions % 2 == 0, "rotary dimensions must be even")
        self.dimensions = dimensions
        self.layout = layout
        self.base = base
        self.scaling = scaling
        self.inverseFrequencies = RotaryTable.defaultFrequencies(dimensions: dimensions, base: base)
        switch scaling {
        case .none, .dynamic:
            break
        case .linear(let factor):
            inverseFrequencies = inverseFrequencies.map { $0 / factor }
        case .frequencyFactors(let factors):
            precondition(factors.count == dimensions / 2, "one factor per rotated pair")
            inverseFrequencies = zip(inverseFrequencies, factors).map { $0 / $1 }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / low
            let highWavelength = Float(original) / high
            inverseFrequencies = inverseFrequencies.map { frequency in
                let wavelength = 2 * Float.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        case .yarn(let factor, let original, let betaFast, let betaSlow, let attention):
            let d = Float(dimensions)
            func correctionDimension(_ rotations: Float) -> Float {
                d * logf(Float(original) / (rotations * 2 * Float.pi)) / (2 * logf(base))
            }
            let low = max(floorf(correctionDimension(betaFast)), 0)
            let high = min(ceilf(correctionDimension(betaSlow)), d - 1)
            let half = dimensions / 2
            let extrapolation = inverseFrequencies
            inverseFrequencies = (0..<half).map { i in
                let ramp = min(max((Float(i) - low) / max(high - low, 0.001), 0), 1)
                let extrapolationWeight = 1 - ramp
                let interpolated = extrapolation[i] / factor
                return interpolated * (1 - extrapolationWeight) + extrapolation[i] * extrapolationWeight
            }
            attentionFactor = attention ?? (factor <= 1 ? 1 : 0.1 * logf(factor) + 1)
        case .longrope(let short, let long, _, let attention):
            precondition(short.count == dimensions / 2 && long.count == dimensions / 2, "one factor per rotated pair")
            inverseFrequencies = RotaryTable.scaledFrequencies(dimensions: dimensions, base: base, factors: short)
            longFrequencies = RotaryTable.scaledFrequencies(dimensions: dimensions, base: base, factors: long)
            attentionFactor = attention
        }
    }

    /// 1 / (factor[i] · base^(2i/d)), in the order transformers computes it.
    static func scaledFrequencies(dimensions: Int, base: Float, factors: [Float]) -> [Float] {
        (0..<(dimensions / 2)).map { i in
            let exponent = Float(2 * i) / Float(dimensions)
            return 1 / (factors[i] * Float(pow(Double(base), Double(exponent))))
        }
    }

    static func defaultFrequencies(dimensions: Int, base: Float) -> [Float] {
        (0..<(dimensions / 2)).map { i in
            let exponent = Float(2 * i) / Float(dimensions)
            return 1 / Float(pow(Double(base), Double(exponent)))
        }
    }

    /// Frequencies for a sequence of `length` tokens (only dynamic and longrope scaling depend on it).
    public func frequencies(sequenceLength length: Int) -> [Float] {
        if case .longrope(_, _, let original, _) = scaling, length > original, let longFrequencies { return longFrequencies }
        guard case .dynamic(let factor, let original) = scaling, length > original else { return inverseFrequencies }
        let d = Float(dimensions)
        let scaledBase = base * powf(factor * Float(length) / Float(original) - (factor - 1), d / (d - 2))
        return RotaryTable.defaultFrequencies(dimensions: dimensions, base: scaledBase)
    }

    /// Rotates `heads` heads of size `headSize` stored contiguously at `vector`, for `position`.
    public func apply(to vector: UnsafeMutablePointer<Float>, heads: Int, headSize: Int, position: Int, frequencies: [Float]) {
        let half = dimensions / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: dimensions) { table in
            let cosines = table.baseAddress!, sines = cosines + half
            for i in 0..<half {
                let angle = Float(position) * frequencies[i]
                cosines[i] = cosf(angle) * attentionFactor
                sines[i] = sinf(angle) * attentionFactor
            }
            for head in 0..<heads {
                let x = vector + head * headSize
                switch layout {
                case .halves:
                    for i in 0..<half {
                        let a = x[i], b = x[i + half]
                        x[i] = a * cosines[i] - b * sines[i]
                        x[i + half] = b * cosines[i] + a * sines[i]
                    }
                case .interleaved:
                    for i in 0..<half {
                        let a = x[2 * i], b = x[2 * i + 1]
                        x[2 * i] = a * cosines[i] - b * sines[i]
                        x[2 * i + 1] = a * sines[i] + b * cosines[i]
                    }
                }
            }
        }
    }
}
