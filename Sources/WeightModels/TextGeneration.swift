import WeightCompute
import WeightFormats
import WeightTokenizers

/// What a model is asked to continue: token ids, text, or a conversation rendered with a chat
/// template.
public enum Prompt: Sendable {
    /// Token ids, used as they are.
    case tokens([Int])
    /// Text, tokenised with special-token texts recognised (`parse_special`) and the special
    /// tokens the tokenizer adds (BOS, ...), as llama.cpp's tools tokenise a prompt.
    case text(String)
    /// A conversation rendered with `template` and `add_generation_prompt`, tokenised with
    /// special-token texts recognised and nothing added (the template writes them), as
    /// transformers' `apply_chat_template` does.
    case chat(messages: [JSONValue], template: ChatTemplate, variables: [String: JSONValue])

    /// The prompt's token ids (`tokenizer` is needed for text and chat prompts).
    ///
    /// - Throws: `ModelError.invalidArgument` naming `tokenizer` when it is nil for a text
    ///   prompt, `ChatTemplateError` when the template cannot render the conversation.
    public func tokens(tokenizer: Tokenizer?) throws -> [Int] {
        if case .tokens(let ids) = self { return ids }
        guard let tokenizer else { throw ModelError.invalidArgument("tokenizer: a text prompt needs a tokenizer") }
        switch self {
        case .tokens(let ids): return ids
        case .text(let text): return tokenizer.encode(text, addSpecial: true, parseSpecial: true)
        case .chat(let messages, let template, let variables):
            let rendered = try template.render(messages: messages, addGenerationPrompt: true, variables: variables)
            return tokenizer.encode(rendered, addSpecial: false, parseSpecial: true)
        }
    }
}

/// A generation with its text.
public struct TextGenerationResult: Sendable {
    /// The prompt's ids, as the model saw them.
    public var promptTokens: [Int]
    /// New tokens, the end-of-generation id that stopped the run included.
    public var generation: GenerationResult
    /// The decoded new tokens, without the end-of-generation token and cut before a matched
    /// stop string; nil without a tokenizer.
    public var text: String?
    /// The prompt's logits `[prompt, vocabulary]`, when asked for.
    public var logits: [Float]?
}

/// Generates after `prompt` and decodes as it goes: `onText` receives the text as it becomes
/// final (never inside a UTF-8 character, never a part that could still turn out to begin a
/// stop string), and the chunks put together are the result's `text`.
///
/// - Parameters:
///   - tokenizer: decodes the new tokens and supplies the end-of-generation ids; nil runs on
///     ids alone (then `stopStrings` must be empty and `text` is nil).
///   - limits: its `endOfGeneration` ids are added to the tokenizer's unless
///     `ignoreEndOfGeneration`.
///   - stopStrings: generation stops when the decoded text contains one of them.
///   - promptLogits: also return every prompt position's logits.
public func generateText(
    _ model: CausalLanguageModel, tokenizer: Tokenizer?, prompt: Prompt, limits: GenerationLimits,
    ignoreEndOfGeneration: Bool = false, stopStrings: [String] = [], options: SamplingOptions,
    randomness: UniformSource = .seeded(0), promptLogits: Bool = false, onText: (String) -> Void = { _ in }
) throws -> TextGenerationResult {
    let promptTokens = try prompt.tokens(tokenizer: tokenizer)
    var limits = limits
    if ignoreEndOfGeneration {
        limits.endOfGeneration = []
    } else if let tokenizer {
        limits.endOfGeneration.formUnion(tokenizer.endOfGeneration)
    }
    guard let tokenizer else {
        guard stopStrings.isEmpty else { throw ModelError.invalidArgument("stopStrings: stop strings need a tokenizer") }
        let run = try run(model, prompt: promptTokens, limits: limits, options: options, randomness: randomness, promptLogits: promptLogits)
        return TextGenerationResult(promptTokens: promptTokens, generation: run.generation, text: nil, logits: run.logits)
    }
    var decoder = tokenizer.makeStreamingDecoder()
    let stops = StopStrings(stopStrings)
    var generated: [Int] = []     // the new ids that decode (end-of-generation ids left out)
    var streamed: [UInt8] = []    // what the streaming decoder has released
    var emitted = 0
    var matched: [UInt8]?         // the text before a stop string, once one matched
    func emit(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        emitted += bytes.count
        onText(String(decoding: bytes, as: UTF8.self))
    }
    let stopAt = limits.endOfGeneration
    let vocabularySize = tokenizer.vocabularySize
    let run = try run(model, prompt: promptTokens, limits: limits, options: options, randomness: randomness, promptLogits: promptLogits) { token in
        // Ids past the tokenizer's vocabulary (rows a model pads its embedding with) decode to
        // nothing, as in transformers.
        guard !stopAt.contains(token), token < vocabularySize else { return true }
        generated.append(token)
        streamed.append(contentsOf: try decoder.appendBytes(token))
        var limit = streamed.count
        if !stops.isEmpty {
            // Stop strings are looked for in the text of all new tokens, as transformers' stop
            // criteria do; what could still begin one is held back.
            let full = try tokenizer.decodeBytes(generated)
            if let at = stops.firstMatch(in: full) {
                matched = Array(full[..<max(at, emitted)])
                emit(full[emitted..<max(at, emitted)])
                return false
            }
            limit = min(limit, full.count - stops.longestPrefixAtEnd(of: full))
        }
        if limit > emitted { emit(streamed[emitted..<limit]) }
        return true
    }
    if matched == nil {
        streamed.append(contentsOf: decoder.finishBytes())
        if streamed.count > emitted { emit(streamed[emitted...]) }
    }
    return TextGenerationResult(promptTokens: promptTokens, generation: run.generation,
                                text: String(decoding: matched ?? streamed, as: UTF8.self), logits: run.logits)
}

/// Stop strings, and where they occur in generated text.
public struct StopStrings: Sendable {
    let stops: [[UInt8]]

    public init(_ stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    public var isEmpty: Bool { stops.isEmpty }

    /// The earliest byte offset in `text` where one of the strings occurs whole.
    public func firstMatch(in text: [UInt8]) -> Int? {
        var best: Int?
        for stop in stops where stop.count <= text.count {
            var i = 0
            while i + stop.count <= text.count, i < (best ?? Int.max) {
                if text[i] == stop[0] && text[i..<(i + stop.count)].elementsEqual(stop) { best = i; break }
                i += 1
            }
        }
        return best
    }

    /// The length of the longest end of `text` that is the beginning of a string (not all of
    /// it): the bytes a stream must hold back.
    public func longestPrefixAtEnd(of text: [UInt8]) -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, text.count)
            while length > longest {
                if text[(text.count - length)...].elementsEqual(stop[..<length]) { longest = length; break }
                length -= 1
            }
        }
        return longest
    }
}
