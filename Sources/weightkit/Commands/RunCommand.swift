import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on token ids: full-sequence logits and generation.",
        discussion: """
            MODEL is a Hugging Face directory (config.json + safetensors) or a GGUF file of a
            supported family (llama, qwen2, qwen3, qwen3_moe). Weights stay memory-mapped in
            their stored type.

            --logits writes float32 [T, vocab] for every prompt position. --generate N appends N
            tokens: greedy, unless --temperature, --top-k or --top-p is given (applied in that
            order, as transformers does; --seed fixes the draws).

            Examples:
              weightkit run ./Qwen2.5-0.5B --tokens 9707,11,1879 --logits logits.npy
              weightkit run model-q8_0.gguf --tokens 9707,11 --generate 32 --temperature 0.7 --top-p 0.9 --json
            """
    )

    @Argument(help: "A Hugging Face model directory or a GGUF file.")
    var model: String

    @Option(help: "Prompt token ids, comma-separated.", transform: TokenList.parse)
    var tokens: [Int]

    @Option(help: "Write the prompt's logits, float32 [T, vocab], to this .npy file.")
    var logits: String?

    @Option(help: "Generate this many new tokens.")
    var generate: Int = 0

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float?

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens.")
    var topK: Int?

    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens whose probability reaches p.")
    var topP: Float?

    @Option(help: "Seed of the sampling draws.")
    var seed: UInt64 = 0

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print {\"tokens\", \"prefill_tokens_per_second\", \"decode_tokens_per_second\"}.")
    var json = false

    func validate() throws {
        guard !tokens.isEmpty else { throw ValidationError("--tokens needs at least one token id") }
        guard generate >= 0 else { throw ValidationError("--generate must not be negative") }
        if let temperature, temperature < 0 || !temperature.isFinite { throw ValidationError("--temperature must be 0 or more") }
        if let topK, topK < 0 { throw ValidationError("--top-k must not be negative") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if logits == nil && generate == 0 { throw ValidationError("nothing to do: give --logits and/or --generate") }
    }

    var samplingOptions: SamplingOptions {
        guard temperature != nil || topK != nil || topP != nil else { return .greedy }
        return SamplingOptions(temperature: temperature ?? 1, topK: topK ?? 0, topP: topP ?? 1)
    }

    func run() throws {
        try reportingErrors {
            let languageModel = try ModelRegistry.load(model)
                if let threads {
                    languageModel.threads = threads
                    BLAS.setThreads(threads)
                }
                let result = try WeightModels.run(
                    languageModel, prompt: tokens, newTokens: generate, options: samplingOptions,
                    randomness: .seeded(seed), promptLogits: logits != nil)
                if let logits, let values = result.logits {
                    try NPY.write(values, shape: [tokens.count, languageModel.vocabularySize], to: logits)
                }
                report(result.generation)
        }
    }

    func report(_ result: GenerationResult) {
        if json {
            var stream = JSONStream()
            stream.raw("{")
            stream.key("tokens"); stream.raw("[" + result.tokens.map(String.init).joined(separator: ",") + "]")
            stream.comma(); stream.key("prefill_tokens_per_second"); stream.raw(JSONWriter.format(result.prefillTokensPerSecond))
            stream.comma(); stream.key("decode_tokens_per_second"); stream.raw(JSONWriter.format(result.decodeTokensPerSecond))
            stream.raw("}")
            stream.finish()
            return
        }
        var out = OutputBuffer()
        if let logits { out.line("wrote \(logits): float32 [\(tokens.count), vocab]") }
        if !result.tokens.isEmpty { out.line(result.tokens.map(String.init).joined(separator: " ")) }
        out.line("prefill \(Formatting.fixed(result.prefillTokensPerSecond, 1)) tok/s"
                 + (result.tokens.count > 1 ? ", decode \(Formatting.fixed(result.decodeTokensPerSecond, 1)) tok/s" : ""))
        out.flush()
    }
}

/// Parses "1,2,3" (spaces allowed).
enum TokenList {
    static func parse(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { piece in
            let trimmed = piece.trimmingCharacters(in: " ")
            guard let value = Int(trimmed), value >= 0 else { throw ValidationError("'\(trimmed)' is not a token id") }
            return value
        }
    }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> String {
        String(drop(while: { $0 == character }).reversed().drop(while: { $0 == character }).reversed())
    }
}
