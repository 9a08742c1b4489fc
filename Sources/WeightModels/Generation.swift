import WeightCompute
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// New tokens and how fast they came.
public struct GenerationResult: Sendable {
    public var tokens: [Int]
    public var promptLength: Int
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public init(tokens: [Int], promptLength: Int, prefillSeconds: Double, decodeSeconds: Double) {
        self.tokens = tokens
        self.promptLength = promptLength
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
    }

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptLength) / prefillSeconds : 0 }
    /// New tokens after the first (each costs one decode step) per second of decoding.
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 && tokens.count > 1 ? Double(tokens.count - 1) / decodeSeconds : 0
    }
}

/// Where sampled tokens get their uniform draws.
public enum UniformSource {
    /// `SeededGenerator(seed:)`: the same seed, the same tokens.
    case seeded(UInt64)
    /// Given draws in [0, 1), one per sampled token (to reproduce another sampler exactly).
    case draws([Double])
}

/// Generates `count` tokens after `prompt`: one prefill over the prompt, then one cached decode
/// step per new token. Greedy when `options.temperature` is 0; otherwise temperature, top-k and
/// top-p in that order, then an inverse-CDF draw from `randomness`.
public func generate(
    _ model: CausalLanguageModel, prompt: [Int], count: Int, options: SamplingOptions,
    randomness: UniformSource = .seeded(0)
) throws -> GenerationResult {
    try run(model, prompt: prompt, newTokens: count, options: options, randomness: randomness, promptLogits: false).generation
}

/// What `run` returns: the prompt's logits when asked for, and the generation.
public struct RunResult: Sendable {
    /// `[prompt.count, vocabulary]` float32, when `promptLogits` was requested.
    public var logits: [Float]?
    public var generation: GenerationResult
}

/// Runs a prompt once and continues from the same cache: all-position logits of the prompt
/// (`promptLogits`), then `newTokens` generated tokens.
public func run(
    _ model: CausalLanguageModel, prompt: [Int], newTokens count: Int, options: SamplingOptions,
    randomness: UniformSource = .seeded(0), promptLogits: Bool
) throws -> RunResult {
    guard !prompt.isEmpty else { throw ModelError.invalidArgument("the prompt needs at least one token") }
    guard count >= 0 else { throw ModelError.invalidArgument("cannot generate \(count) tokens") }
    // The cache holds what is asked for, and that must fit the context: checked before anything is allocated.
    let (needed, overflow) = prompt.count.addingReportingOverflow(count)
    let context = model.contextLength > 0 ? model.contextLength : Int.max
    guard !overflow, needed <= context else {
        throw ModelError.contextTooSmall(prompt: prompt.count, generate: count, context: context)
    }
    var draws = UniformDraws(randomness)
    let cache = try model.makeCache(capacity: needed)
    var result = RunResult(logits: nil, generation: GenerationResult(tokens: [], promptLength: prompt.count, prefillSeconds: 0, decodeSeconds: 0))
    var start = monotonicSeconds()
    var logits = try model.forward(prompt, cache: cache, logits: promptLogits ? .all : .last)
    result.generation.prefillSeconds = monotonicSeconds() - start
    if promptLogits {
        result.logits = logits
        logits = Array(logits.suffix(model.vocabularySize))
    }
    guard count > 0 else { return result }
    start = monotonicSeconds()
    while true {
        let uniform = options.isGreedy ? 0 : try draws.next()
        let token = logits.withUnsafeBufferPointer {
            sampleToken(logits: $0.baseAddress!, count: $0.count, options: options, uniform: uniform)
        }
        result.generation.tokens.append(token)
        if result.generation.tokens.count == count { break }
        logits = try model.forward([token], cache: cache, logits: .last)
    }
    result.generation.decodeSeconds = monotonicSeconds() - start
    return result
}

/// The uniform draws of a `UniformSource`, one at a time.
struct UniformDraws {
    var generator: SeededGenerator
    var given: [Double]?
    var index = 0

    init(_ source: UniformSource) {
        switch source {
        case .seeded(let seed):
            generator = SeededGenerator(seed: seed)
        case .draws(let draws):
            generator = SeededGenerator(seed: 0)
            given = draws
        }
    }

    mutating func next() throws -> Double {
        guard let given else { return generator.uniform() }
        guard index < given.count else { throw ModelError.invalidArgument("not enough uniform draws for the tokens to sample") }
        defer { index += 1 }
        return given[index]
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
