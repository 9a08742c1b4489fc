import WeightCompute
import WeightModels
#if canImport(Glibc)
import Glibc
#endif

/// Peak resident memory of this process in bytes (getrusage reports KiB on Linux).
func peakResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

/// Seed 001's bar: a full forward (all heads) of `tokens` tokens on Micro-MTP.
func multiTokenForwardBenchmark(directory: String, tokens count: Int) throws {
    let load = now()
    guard let model = try ModelRegistry.load(directory, context: ComputeContext(kernels: kernels)) as? MetaMTPModel else {
        print("error: \(directory) is not a multi-token-prediction model")
        return
    }
    let loadSeconds = now() - load
    let tokens = (0..<count).map { ($0 * 7919 + 13) % model.vocabularySize }
    _ = try model.fullForward(Array(tokens.prefix(8)))
    let seconds = try best(3) { _ = try model.fullForward(tokens) }
    print("{\"benchmark\":\"mtp-forward\",\"tokens\":\(count),\"heads\":\(model.futureTokens),\"load_seconds\":\(loadSeconds),\"seconds\":\(seconds),\"peak_resident_bytes\":\(peakResidentBytes())}")
}

/// Seed 002's "Small" expert generating `tokens` tokens greedily after a `prompt`-token prompt.
func expertGenerateBenchmark(directory: String, prompt length: Int, tokens count: Int) throws {
    let model = try ModelRegistry.load(directory, context: ComputeContext(kernels: kernels))
    let prompt = (0..<length).map { ($0 * 31 + 5) % model.vocabularySize }
    _ = try generate(model, prompt: prompt, count: 4, options: .greedy)
    var result: GenerationResult?
    let seconds = try best(3) { result = try generate(model, prompt: prompt, count: count, options: .greedy) }
    let decode = result?.decodeTokensPerSecond ?? 0
    print("{\"benchmark\":\"expert-generate\",\"prompt\":\(length),\"tokens\":\(count),\"seconds\":\(seconds),\"tokens_per_second\":\(Double(count) / seconds),\"decode_tokens_per_second\":\(decode),\"peak_resident_bytes\":\(peakResidentBytes())}")
}
