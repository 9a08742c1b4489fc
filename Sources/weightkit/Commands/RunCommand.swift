#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import WeightCompute
import WeightFormats
import WeightModels
import WeightTokenizers

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on text or token ids: generation and full-sequence logits.",
        discussion: """
            MODEL is a Hugging Face directory (config.json + safetensors) or a GGUF file of a \
            supported family, an expert LM directory (model_type expert_lm) or a Meta \
            multi-token-prediction directory (params.json). Weights stay memory-mapped in their \
            stored type.

            The prompt is exactly one of --tokens (ids), --prompt (text) or --prompt-file (a \
            file's bytes, UTF-8). Text is tokenised with the model's tokenizer, special-token \
            texts such as <|im_start|> recognised and BOS added as the tokenizer says. --chat \
            makes the text one user message (--system adds a system message) rendered with the \
            model's chat template and a generation prompt, as transformers' apply_chat_template \
            does; --template-name, --tools and --var KEY=JSON work as in `weightkit template`.

            Generation stops at an end-of-generation token (unless --ignore-eos), at a --stop \
            string, or after --generate N tokens. A text prompt without --generate runs until \
            the end of generation or a full context (--ctx N for a smaller one). A prompt plus \
            --generate that does not fit the context is refused before anything is allocated.

            Output: with a text prompt, stdout is the generated text, streamed as it comes \
            (written raw unless stdout is a terminal, where control characters are escaped); \
            with --tokens, the generated ids. A timing summary goes to stderr. --json prints one \
            object instead: {"prompt_tokens", "tokens", "text", "stop_reason", \
            "prefill_tokens_per_second", "decode_tokens_per_second", "isa"}; "tokens" ends with \
            the end-of-generation id that stopped the run, "text" leaves it out and ends before \
            a matched --stop string (null for a model without a tokenizer), "stop_reason" is \
            eos, length, stop or context (absent with --generate 0).

            --logits writes float32 [T, vocab] for every prompt position. Sampling is greedy \
            unless --temperature, --top-k or --top-p is given (applied in that order, as \
            transformers does; --seed fixes the draws).

            For multi-token-prediction models --logits writes [T, H, vocab] for the H heads run \
            (all by default, --heads 1 for the next-token head only), --values writes the value \
            head's [T, 1], and --speculative drafts with the extra heads and verifies with head 0 \
            (same tokens as greedy; --json adds "acceptance_rate" and "speedup").

            Examples:
              weightkit run SmolLM2-135M-Instruct.Q4_1.gguf --chat --prompt "What is GGUF?" --generate 64
              weightkit run ./Qwen3-0.6B --chat --prompt "Hi" --var enable_thinking=false --json
              weightkit run ./Qwen2.5-0.5B --tokens 9707,11,1879 --logits logits.npy
              weightkit run model-q8_0.gguf --prompt "Once upon a time" --generate 32 --temperature 0.7 --top-p 0.9
            """
    )

    @Argument(help: "A Hugging Face model directory or a GGUF file.")
    var model: String

    @Option(help: "Prompt token ids, comma-separated.", transform: TokenList.parse)
    var tokens: [Int]?

    @Option(help: "Prompt text.")
    var prompt: String?

    @Option(name: .customLong("prompt-file"), help: "A file whose bytes (UTF-8) are the prompt text.")
    var promptFile: String?

    @OptionGroup(title: "Chat")
    var chat: ChatArguments

    @Option(help: "Write the prompt's logits, float32 [T, vocab], to this .npy file.")
    var logits: String?

    @Option(help: "Generate at most this many new tokens (a text prompt without it: until the end of generation or a full context).")
    var generate: Int?

    @Option(help: "Stop when the generated text contains this string (repeatable).")
    var stop: [String] = []

    @Flag(name: .customLong("ignore-eos"), help: "Do not stop at end-of-generation tokens.")
    var ignoreEOS = false

    @Option(help: "The context length to fit in (default: the model's trained context; not larger).")
    var ctx: Int?

    @OptionGroup var sampling: SamplingArguments

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print {\"prompt_tokens\", \"tokens\", \"text\", \"stop_reason\", \"prefill_tokens_per_second\", \"decode_tokens_per_second\", \"isa\"}.")
    var json = false

    @Flag(help: "Replace existing files named by --logits, --values and --create-value-head (never the model or another input).")
    var force = false

    @OptionGroup(title: "Multi-token prediction models (Meta MTP)")
    var multiToken: MultiTokenOptions

    /// Whether the prompt is text (then the run is a text run).
    var isTextPrompt: Bool { prompt != nil || promptFile != nil }

    func validate() throws {
        let given = [tokens != nil, prompt != nil, promptFile != nil].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of --tokens, --prompt and --prompt-file") }
        if let tokens, tokens.isEmpty { throw ValidationError("--tokens needs at least one token id") }
        if let generate, generate < 0 { throw ValidationError("--generate must not be negative") }
        if let ctx, ctx < 1 { throw ValidationError("--ctx must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if chat.chat && !isTextPrompt { throw ValidationError("--chat needs --prompt or --prompt-file") }
        if !chat.chat && chat.isUsed { throw ValidationError("--system, --template-name, --tools and --var need --chat") }
        if stop.contains("") { throw ValidationError("--stop needs a non-empty string") }
        if !isTextPrompt && logits == nil && generate == nil && multiToken.values == nil && multiToken.createValueHead == nil {
            throw ValidationError("nothing to do: give --logits and/or --generate")
        }
        try multiToken.validate(sampling: sampling.isSampling, generate: generate ?? 0)
    }

    func run() throws {
        try reportingErrors {
            let outputs = OutputTargets(force: force, inputs: [model, multiToken.valueHead, promptFile, chat.tools])
            try outputs.check(["--logits": logits, "--values": multiToken.values, "--create-value-head": multiToken.createValueHead])
            // The instruction-set tier: WEIGHTKIT_ISA (scalar, avx2, avx512), else the best the
            // processor has; said on stderr, as llama.cpp's system info line, once the model and
            // the request have been checked (an error stays the one line on stderr).
            let kernels = try Kernels.fromEnvironment(KernelChoice.environment())
            let loadStart = monotonicTime()
            let languageModel: CausalLanguageModel
            do {
                languageModel = try ModelRegistry.load(model, context: ComputeContext(threads: threads ?? 0, kernels: kernels))
            } catch ModelError.encoderOnly(let modelType) {
                throw CommandFailure("'\(modelType)' is an encoder, not a language model: use weightkit embed")
            }
            if let mtp = languageModel as? MetaMTPModel {
                guard let tokens else { throw CommandFailure("--prompt: multi-token-prediction models run on --tokens only") }
                Terminal.writeError("isa: \(kernels)\n")
                try MultiTokenRun(options: multiToken, model: mtp, tokens: tokens, logitsPath: logits, generate: generate ?? 0,
                                  sampling: sampling.options, seed: sampling.seed, json: json, isa: kernels.tier,
                                  outputs: outputs).run()
                return
            }
            guard !multiToken.isUsed else {
                throw CommandFailure("--heads, --value-head, --values, --create-value-head and --speculative need a multi-token-prediction model")
            }
            let tokenizer = try loadTokenizer()
            let loadSeconds = monotonicTime() - loadStart
            if !stop.isEmpty && tokenizer == nil { throw CommandFailure("--stop: \(model) has no tokenizer to decode with") }
            let promptTokens = try promptIDs(tokenizer: tokenizer)
            if let ctx, languageModel.contextLength > 0, ctx > languageModel.contextLength {
                throw CommandFailure("--ctx \(ctx) is larger than the model's trained context of \(languageModel.contextLength) tokens")
            }
            let limits = GenerationLimits(maxNewTokens: generate ?? (isTextPrompt ? nil : 0), context: ctx)
            try checkFits(promptLength: promptTokens.count, limits: limits, trained: languageModel.contextLength)
            Terminal.writeError("isa: \(kernels)\n")

            let streaming = isTextPrompt && !json
            var result = try generateText(
                languageModel, tokenizer: tokenizer, prompt: .tokens(promptTokens), limits: limits,
                ignoreEndOfGeneration: ignoreEOS, stopStrings: stop, options: sampling.options,
                randomness: .seeded(sampling.seed), promptLogits: logits != nil,
                onText: { streaming ? Terminal.printUserText($0) : () })
            if let logits, let values = result.logits {
                try NPY.write(values, shape: [promptTokens.count, languageModel.vocabularySize], to: logits,
                              overwrite: outputs.force, inputs: outputs.inputs)
            }
            if limits.maxNewTokens == 0 { result.generation.stopReason = nil }
            if let logits, !json { Terminal.writeError("wrote \(SafeText.escaped(logits)): float32 [\(promptTokens.count), \(languageModel.vocabularySize)]\n") }
            if streaming {
                if Terminal.stdoutIsTerminal, result.text?.hasSuffix("\n") == false { Terminal.writeOut("\n") }
            } else {
                RunReport.print(RunOutcome(promptTokens: promptTokens, generation: result.generation, text: result.text,
                                           hasTokenizer: tokenizer != nil), json: json, isa: kernels.tier)
            }
            RunReport.summary(result.generation, loadSeconds: loadSeconds)
        }
    }

    /// The model's tokenizer: needed for a text prompt, and used with --tokens when there is one
    /// (then `text` is filled in and end-of-generation tokens stop the run).
    func loadTokenizer() throws -> Tokenizer? {
        do {
            return try Tokenizer.load(model)
        } catch {
            guard isTextPrompt else { return nil }
            throw error
        }
    }

    /// The prompt's ids: --tokens as given; text tokenised, or rendered as a chat first.
    func promptIDs(tokenizer: Tokenizer?) throws -> [Int] {
        if let tokens { return tokens }
        let text: String
        if let promptFile {
            let bytes = try FileSystem.readFile(promptFile)
            if let offset = UTF8Check.firstInvalidOffset(bytes) {
                throw CommandFailure("--prompt-file \(promptFile): not valid UTF-8 at byte offset \(offset)")
            }
            text = String(decoding: bytes, as: UTF8.self)
        } else {
            text = prompt ?? ""
        }
        let prompt: Prompt = chat.chat ? .chat(messages: chat.messages(user: text), template: try chat.template(model: model),
                                               variables: try chat.variables())
                                       : .text(text)
        let ids = try prompt.tokens(tokenizer: tokenizer)
        guard !ids.isEmpty else { throw CommandFailure("the prompt has no tokens") }
        return ids
    }

    /// The context check the library makes, with the message naming flags.
    func checkFits(promptLength: Int, limits: GenerationLimits, trained: Int) throws {
        let context = ctx ?? (trained > 0 ? trained : Int.max)
        if let count = limits.maxNewTokens {
            let (needed, overflow) = promptLength.addingReportingOverflow(count)
            if overflow || needed > context {
                throw CommandFailure("the prompt's \(promptLength) tokens + --generate \(count) exceed the context of \(context) tokens"
                                     + (ctx == nil ? "" : " (--ctx)"))
            }
        } else if promptLength >= context {
            throw CommandFailure("the prompt's \(promptLength) tokens leave no room to generate in the context of \(context) tokens"
                                 + (ctx == nil ? "" : " (--ctx)"))
        }
    }
}

/// `--chat` and what shapes the conversation: the system message, the template and its variables.
struct ChatArguments: ParsableArguments {
    @Flag(help: "Make the prompt one user message rendered with the model's chat template.")
    var chat = false

    @Option(help: "A system message before the prompt (with --chat).")
    var system: String?

    @Option(help: "The model's chat template to use, by name (with --chat).")
    var templateName: String = "default"

    @Option(help: "A JSON file holding the tools, an array of schemas (with --chat).")
    var tools: String?

    @Option(name: .customLong("var"), help: "A template variable: KEY=JSON (repeatable; with --chat).")
    var assignments: [String] = []

    var isUsed: Bool { system != nil || templateName != "default" || tools != nil || !assignments.isEmpty }

    func messages(user: String) -> [JSONValue] {
        var messages: [JSONValue] = []
        func message(_ role: String, _ content: String) -> JSONValue {
            .object(JSONObject([("role", .string(role)), ("content", .string(content))]))
        }
        if let system { messages.append(message("system", system)) }
        messages.append(message("user", user))
        return messages
    }

    func template(model: String) throws -> ChatTemplate {
        try ModelChatTemplate.load(path: model, name: templateName).template()
    }

    func variables() throws -> [String: JSONValue] {
        try TemplateCommand.variables(tools: tools, assignments: assignments)
    }
}

/// What `run` reports: the prompt, the new tokens and their text.
struct RunOutcome {
    var promptTokens: [Int]
    var generation: GenerationResult
    /// The decoded new tokens; nil without a tokenizer (`"text": null`).
    var text: String?
    var hasTokenizer: Bool
}

/// Printing a run's result: tokens and speeds, as text or as the JSON contract.
enum RunReport {
    /// `isa` is the instruction-set tier the products ran in (`"isa"` in the JSON); `extra`
    /// holds the multi-token-prediction figures.
    static func print(_ outcome: RunOutcome, json: Bool, isa: KernelTier, extra: [(String, Double)] = []) {
        let result = outcome.generation
        if json {
            var stream = JSONStream()
            stream.raw("{")
            stream.key("prompt_tokens"); stream.raw("[" + outcome.promptTokens.map(String.init).joined(separator: ",") + "]")
            stream.comma(); stream.key("tokens"); stream.raw("[" + result.tokens.map(String.init).joined(separator: ",") + "]")
            stream.comma(); stream.key("text")
            if let text = outcome.text { stream.string(text) } else { stream.raw("null") }
            if let reason = result.stopReason { stream.comma(); stream.key("stop_reason"); stream.string(reason.rawValue) }
            stream.comma(); stream.key("prefill_tokens_per_second"); stream.raw(JSONWriter.format(result.prefillTokensPerSecond))
            stream.comma(); stream.key("decode_tokens_per_second"); stream.raw(JSONWriter.format(result.decodeTokensPerSecond))
            for (key, value) in extra { stream.comma(); stream.key(key); stream.raw(JSONWriter.format(value)) }
            stream.comma(); stream.key("isa"); stream.string(isa.rawValue)
            stream.raw("}")
            stream.finish()
            return
        }
        var out = OutputBuffer()
        if !result.tokens.isEmpty { out.line(result.tokens.map(String.init).joined(separator: " ")) }
        for (key, value) in extra { out.line("\(key.replacingUnderscores) \(Formatting.fixed(value, 3))") }
        out.flush()
    }

    /// The timing summary on stderr, as llama.cpp prints its own: load, prompt and generation.
    static func summary(_ result: GenerationResult, loadSeconds: Double?) {
        var lines = ""
        if let loadSeconds { lines += "load: \(Formatting.fixed(loadSeconds * 1000, 1)) ms\n" }
        lines += "prompt: \(result.promptLength) tokens in \(Formatting.fixed(result.prefillSeconds * 1000, 1)) ms"
            + rate(seconds: result.prefillSeconds, count: result.promptLength) + "\n"
        if !result.tokens.isEmpty {
            let steps = result.tokens.count - 1
            lines += "generation: \(result.tokens.count) tokens"
                + (steps > 0 ? ", \(steps) decode steps in \(Formatting.fixed(result.decodeSeconds * 1000, 1)) ms"
                    + rate(seconds: result.decodeSeconds, count: steps) : "")
                + (result.stopReason.map { "; stopped: \($0.rawValue)" } ?? "") + "\n"
        }
        Terminal.writeError(lines)
    }

    private static func rate(seconds: Double, count: Int) -> String {
        guard seconds > 0, count > 0 else { return "" }
        return " (\(Formatting.fixed(seconds * 1000 / Double(count), 2)) ms/token, \(Formatting.fixed(Double(count) / seconds, 1)) tokens/s)"
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
