#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on token ids: full-sequence logits and generation.",
        discussion: """
            MODEL is a Hugging Face directory (config.json + safetensors) or a GGUF file of a \
            supported family (llama, qwen2, qwen3, qwen3_moe), an expert LM directory \
            (model_type expert_lm) or a Meta multi-token-prediction directory (params.json). \
            Weights stay memory-mapped in their stored type.

            For multi-token-prediction models --logits writes [T, H, vocab] for the H heads run \
            (all by default, --heads 1 for the next-token head only), --values writes the value \
            head's [T, 1], and --speculative drafts with the extra heads and verifies with head 0 \
            (same tokens as greedy; --json adds "acceptance_rate" and "speedup").

            --logits writes float32 [T, vocab] for every prompt position. --generate N appends N \
            tokens: greedy, unless --temperature, --top-k or --top-p is given (applied in that \
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

    @OptionGroup var sampling: SamplingArguments

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print {\"tokens\", \"prefill_tokens_per_second\", \"decode_tokens_per_second\", \"isa\"}.")
    var json = false

    @Flag(help: "Replace existing files named by --logits, --values and --create-value-head (never the model or another input).")
    var force = false

    @OptionGroup(title: "Multi-token prediction models (Meta MTP)")
    var multiToken: MultiTokenOptions

    func validate() throws {
        guard !tokens.isEmpty else { throw ValidationError("--tokens needs at least one token id") }
        guard generate >= 0 else { throw ValidationError("--generate must not be negative") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if logits == nil && generate == 0 && multiToken.values == nil && multiToken.createValueHead == nil {
            throw ValidationError("nothing to do: give --logits and/or --generate")
        }
        try multiToken.validate(sampling: sampling.isSampling, generate: generate)
    }

    func run() throws {
        try reportingErrors {
            let outputs = OutputTargets(force: force, inputs: [model, multiToken.valueHead])
            try outputs.check(["--logits": logits, "--values": multiToken.values, "--create-value-head": multiToken.createValueHead])
            // The instruction-set tier: WEIGHTKIT_ISA (scalar, avx2, avx512), else the best the
            // processor has; said on stderr, as llama.cpp's system info line.
            let kernels = try Kernels.fromEnvironment(KernelChoice.environment())
            Terminal.writeError("isa: \(kernels)\n")
            let languageModel = try ModelRegistry.load(model, context: ComputeContext(threads: threads ?? 0, kernels: kernels))
                if let mtp = languageModel as? MetaMTPModel {
                    try MultiTokenRun(options: multiToken, model: mtp, tokens: tokens, logitsPath: logits, generate: generate,
                                      sampling: sampling.options, seed: sampling.seed, json: json, isa: kernels.tier,
                                      outputs: outputs).run()
                    return
                }
                guard !multiToken.isUsed else {
                    throw CommandFailure("--heads, --value-head, --values, --create-value-head and --speculative need a multi-token-prediction model")
                }
                let result = try WeightModels.run(
                    languageModel, prompt: tokens, newTokens: generate, options: sampling.options,
                    randomness: .seeded(sampling.seed), promptLogits: logits != nil)
                if let logits, let values = result.logits {
                    try NPY.write(values, shape: [tokens.count, languageModel.vocabularySize], to: logits,
                                  overwrite: outputs.force, inputs: outputs.inputs)
                }
                report(result.generation, isa: kernels.tier)
        }
    }

    func report(_ result: GenerationResult, isa: KernelTier) {
        RunReport.print(result, logitsPath: logits, promptLength: tokens.count, json: json, isa: isa)
    }
}

/// Printing a run's result: tokens and speeds, as text or as the JSON contract.
enum RunReport {
    /// `isa` is the instruction-set tier the products ran in (`"isa"` in the JSON).
    static func print(_ result: GenerationResult, logitsPath logits: String?, promptLength: Int, json: Bool,
                      isa: KernelTier, extra: [(String, Double)] = []) {
        if json {
            var stream = JSONStream()
            stream.raw("{")
            stream.key("tokens"); stream.raw("[" + result.tokens.map(String.init).joined(separator: ",") + "]")
            stream.comma(); stream.key("prefill_tokens_per_second"); stream.raw(JSONWriter.format(result.prefillTokensPerSecond))
            stream.comma(); stream.key("decode_tokens_per_second"); stream.raw(JSONWriter.format(result.decodeTokensPerSecond))
            for (key, value) in extra { stream.comma(); stream.key(key); stream.raw(JSONWriter.format(value)) }
            stream.comma(); stream.key("isa"); stream.string(isa.rawValue)
            stream.raw("}")
            stream.finish()
            return
        }
        var out = OutputBuffer()
        if let logits { out.line("wrote \(logits)") }
        if !result.tokens.isEmpty { out.line(result.tokens.map(String.init).joined(separator: " ")) }
        out.line("prefill \(Formatting.fixed(result.prefillTokensPerSecond, 1)) tok/s"
                 + (result.tokens.count > 1 ? ", decode \(Formatting.fixed(result.decodeTokensPerSecond, 1)) tok/s" : ""))
        for (key, value) in extra { out.line("\(key.replacingUnderscores) \(Formatting.fixed(value, 3))") }
        out.flush()
    }
}

/// The process environment, for `Kernels.fromEnvironment`: read once, where a command picks its
/// tier.
enum KernelChoice {
    static func environment() -> [String: String] {
        guard let value = getenv(Kernels.environmentVariable) else { return [:] }
        return [Kernels.environmentVariable: String(cString: value)]
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
