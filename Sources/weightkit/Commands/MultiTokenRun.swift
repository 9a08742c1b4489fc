#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels

/// The options `run` adds for Meta's multi-token-prediction models.
struct MultiTokenOptions: ParsableArguments {
    @Option(help: "Heads to run for --logits (default: all n_future_tokens).")
    var heads: Int?

    @Option(name: .customLong("value-head"), help: "A value head (safetensors: weight [1, dim], bias [1]).")
    var valueHead: String?

    @Option(name: .customLong("value-source"), help: "What the value head reads: head0 (norm of layers[-1](trunk)) or trunk (norm of layers[:-1]).")
    var valueSource: String = "head0"

    @Option(help: "Write the value head's outputs, float32 [T, 1], to this .npy file.")
    var values: String?

    @Option(name: .customLong("create-value-head"), help: "Create a freshly initialised value head (--seed), save it here and use it.")
    var createValueHead: String?

    @Flag(help: "Self-speculative greedy decoding: draft with the extra heads, verify with head 0.")
    var speculative = false

    var isUsed: Bool { heads != nil || valueHead != nil || values != nil || createValueHead != nil || speculative }

    func validate(sampling: Bool, generate: Int) throws {
        if let heads, heads < 1 { throw ValidationError("--heads must be at least 1") }
        guard ValueHead.Source(rawValue: valueSource) != nil else {
            throw ValidationError("--value-source must be head0 or trunk")
        }
        if values != nil && valueHead == nil && createValueHead == nil {
            throw ValidationError("--values needs --value-head FILE (or --create-value-head FILE)")
        }
        if valueHead != nil && createValueHead != nil { throw ValidationError("give --value-head or --create-value-head, not both") }
        if speculative && sampling { throw ValidationError("--speculative is greedy: it cannot be combined with sampling options") }
        if speculative && generate == 0 { throw ValidationError("--speculative needs --generate N") }
    }
}

/// `run` on a multi-token-prediction model.
struct MultiTokenRun {
    let options: MultiTokenOptions
    let model: MetaMTPModel
    let tokens: [Int]
    let logitsPath: String?
    let generate: Int
    let sampling: SamplingOptions
    let seed: UInt64
    let json: Bool
    /// The instruction-set tier the model runs in.
    let isa: KernelTier
    let outputs: OutputTargets

    func run() throws {
        let source = ValueHead.Source(rawValue: options.valueSource) ?? .head0
        if let path = options.valueHead {
            model.valueHead = try ValueHead(path: path, dimension: model.hiddenSize, source: source)
        } else if let path = options.createValueHead {
            let head = ValueHead(dimension: model.hiddenSize, seed: seed, source: source)
            try head.save(to: path, overwrite: outputs.force, inputs: outputs.inputs)
            model.valueHead = head
        }
        let heads = options.heads ?? model.futureTokens
        guard heads <= model.futureTokens else {
            throw CommandFailure("--heads \(heads): the model has \(model.futureTokens) prediction heads")
        }
        var result = GenerationResult(tokens: [], promptLength: tokens.count, prefillSeconds: 0, decodeSeconds: 0)
        if logitsPath != nil || options.values != nil {
            let cache = try model.makeCache(capacity: tokens.count)
            let start = monotonicTime()
            let output = try model.forward(tokens, cache: cache, headCount: logitsPath != nil ? heads : 1, rows: .all,
                                           computeLogits: logitsPath != nil)
            result.prefillSeconds = monotonicTime() - start
            if let logitsPath {
                try NPY.write(output.logits, shape: [tokens.count, heads, model.vocabularySize], to: logitsPath,
                              overwrite: outputs.force, inputs: outputs.inputs)
            }
            if let valuesPath = options.values, let head = model.valueHead {
                let values = head.values(source == .trunk ? output.trunkHidden : output.hidden, rows: tokens.count)
                try NPY.write(values, shape: [tokens.count, 1], to: valuesPath, overwrite: outputs.force, inputs: outputs.inputs)
            }
        }
        var extra: [(String, Double)] = []
        if generate > 0 {
            let plain = try WeightModels.generate(model, prompt: tokens, count: generate, options: sampling, randomness: .seeded(seed))
            result.tokens = plain.tokens
            result.decodeSeconds = plain.decodeSeconds
            result.stopReason = plain.stopReason
            if result.prefillSeconds == 0 { result.prefillSeconds = plain.prefillSeconds }
            if options.speculative {
                let fast = try model.generateSpeculatively(prompt: tokens, count: generate)
                guard fast.tokens == plain.tokens else {
                    throw CommandFailure("speculative decoding diverged from greedy decoding (floating-point tie); tokens: \(fast.tokens)")
                }
                extra = [("acceptance_rate", fast.acceptanceRate),
                         ("speedup", (plain.prefillSeconds + plain.decodeSeconds) / max(fast.seconds, 1e-9))]
            }
        }
        if generate == 0 { result.stopReason = nil }
        RunReport.print(RunOutcome(promptTokens: tokens, generation: result, text: nil, hasTokenizer: false),
                        json: json, isa: isa, extra: extra)
        if !json {
            if let logitsPath { Terminal.writeError("wrote \(SafeText.escaped(logitsPath)): float32 [\(tokens.count), \(heads), \(model.vocabularySize)]\n") }
            if let values = options.values { Terminal.writeError("wrote \(SafeText.escaped(values)): float32 [\(tokens.count), 1]\n") }
        }
        RunReport.summary(result, loadSeconds: nil)
    }
}

/// Seconds on the monotonic clock.
func monotonicTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
