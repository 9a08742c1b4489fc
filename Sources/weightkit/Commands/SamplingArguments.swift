import ArgumentParser
import WeightCompute

/// `--temperature`, `--top-k`, `--top-p` and `--seed`, shared by the commands that generate.
/// Greedy unless one of the first three is given; they apply in that order, as transformers does.
struct SamplingArguments: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float?

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose probability reaches p.")
    var topP: Float?

    @Option(help: "Seed of the sampling draws.")
    var seed: UInt64 = 0

    func validate() throws {
        if let temperature, temperature < 0 || !temperature.isFinite { throw ValidationError("--temperature must be 0 or more") }
        if let topK, topK < 0 { throw ValidationError("--top-k must not be negative") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    /// Whether any sampling option was given.
    var isSampling: Bool { temperature != nil || topK != nil || topP != nil }

    var options: SamplingOptions {
        isSampling ? SamplingOptions(temperature: temperature ?? 1, topK: topK ?? 0, topP: topP ?? 1) : .greedy
    }
}
