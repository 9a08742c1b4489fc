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
    /// Why generation ended; nil when no token was asked for.
    public var stopReason: StopReason?

    public init(tokens: [Int], promptLength: Int, prefillSeconds: Double, decodeSeconds: Double, stopReason: StopReason? = nil) {
        self.tokens = tokens
        self.promptLength = promptLength
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
        self.stopReason = stopReason
    }

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptLength) / prefillSeconds : 0 }
    /// New tokens after the first (each costs one decode step) per second of decoding.
    public var decodeTokensPerSecond: Double {
        decodeSeconds > 0 && tokens.count > 1 ? Double(tokens.count - 1) / decodeSeconds : 0
    }
}

/// Why a generation ended (the names are `run --json`'s `stop_reason` values).
public enum StopReason: String, Sendable {
    /// An end-of-generation token was sampled (it is the last of the tokens).
    case endOfGeneration = "eos"
    /// `GenerationLimits.maxNewTokens` tokens were generated.
    case length
    /// The caller's token callback asked to stop (a stop string matched).
    case stopString = "stop"
    /// No `maxNewTokens` was given and the context is full.
    case context
}

/// How long a generation may run.
public struct GenerationLimits: Sendable {
    /// New tokens at most; nil generates until an end-of-generation token or a full context.
    public var maxNewTokens: Int?
    /// The context the prompt and the new tokens must fit in; nil is the model's trained
    /// context, and a larger value is an error.
    public var context: Int?
    /// Token ids that end generation (the sampled one is kept as the last token, as
    /// transformers' `generate` keeps it). Empty: never.
    public var endOfGeneration: Set<Int>

    public init(maxNewTokens: Int?, context: Int? = nil, endOfGeneration: Set<Int> = []) {
        self.maxNewTokens = maxNewTokens
        self.context = context
        self.endOfGeneration = endOfGeneration
    }

    /// Exactly `count` tokens (no end-of-generation ids), within the model's context.
    public static func exactly(_ count: Int) -> GenerationLimits { GenerationLimits(maxNewTokens: count) }

    /// The context in force and the number of new tokens to allow, checked against the
    /// model's trained context before anything is allocated.
    func resolve(promptLength: Int, trainedContext: Int) throws -> (context: Int, newTokens: Int) {
        let trained = trainedContext > 0 ? trainedContext : Int.max
        var context = trained
        if let asked = self.context {
            guard asked >= 1 else { throw ModelError.invalidArgument("limits.context must be at least 1 (got \(asked))") }
            guard asked <= trained else { throw ModelError.contextBeyondTrained(requested: asked, trained: trained) }
            context = asked
        }
        if let count = maxNewTokens {
            guard count >= 0 else { throw ModelError.invalidArgument("limits.maxNewTokens cannot be \(count)") }
            let (needed, overflow) = promptLength.addingReportingOverflow(count)
            guard !overflow, needed <= context else {
                throw ModelError.contextTooSmall(prompt: promptLength, generate: count, context: context)
            }
            return (context, count)
        }
        guard promptLength < context, context != Int.max else {
            throw context == Int.max ? ModelError.invalidArgument("limits.maxNewTokens is needed for a model without a context length")
                : ModelError.promptFillsContext(prompt: promptLength, context: context)
        }
        return (context, context - promptLength)
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
    try run(model, prompt: prompt, limits: .exactly(count), options: options, randomness: randomness, promptLogits: promptLogits)
}

/// Runs a prompt once and generates after it within `limits`: all-position logits of the
/// prompt (`promptLogits`), then tokens until an end-of-generation id, `maxNewTokens`, a full
/// context, or `onToken` returning false (it sees every new token as it is sampled).
///
/// The KV cache holds exactly what the limits allow, and the prompt plus that must fit the
/// context: both are checked before anything is allocated.
public func run(
    _ model: CausalLanguageModel, prompt: [Int], limits: GenerationLimits, options: SamplingOptions,
    randomness: UniformSource = .seeded(0), promptLogits: Bool, onToken: (Int) throws -> Bool = { _ in true }
) throws -> RunResult {
    guard !prompt.isEmpty else { throw ModelError.invalidArgument("the prompt needs at least one token") }
    let (_, count) = try limits.resolve(promptLength: prompt.count, trainedContext: model.contextLength)
    var draws = UniformDraws(randomness)
    let cache = try model.makeCache(capacity: prompt.count + count)
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
        if limits.endOfGeneration.contains(token) { result.generation.stopReason = .endOfGeneration; break }
        if try !onToken(token) { result.generation.stopReason = .stopString; break }
        if result.generation.tokens.count == count {
            result.generation.stopReason = limits.maxNewTokens == nil ? .context : .length
            break
        }
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
