import Foundation
import Testing
import WeightFormats

/// `weightkit run` with text: prompts tokenised and chats rendered as transformers does, and
/// generation stopping where transformers' `generate` stops (Fixtures/textgen/qwen3-chat,
/// recorded by Fixtures/generators/text_generation.py).
@Suite struct TextRunTests {
    let model = CLI.fixture("textgen/qwen3-chat")

    func reference() throws -> JSONValue { try CLI.json("textgen/qwen3-chat/reference.json") }

    func ids(_ value: JSONValue?) throws -> [JSONValue] {
        let array = try #require(value?.arrayValue, "reference value missing")
        try #require(!array.isEmpty, "reference array empty")
        return array
    }

    func run(_ arguments: [String]) throws -> JSONValue {
        let result = try CLI.run(["run", model] + arguments + ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(result.json, "no JSON: \(result.stdout)")
    }

    @Test("--prompt: transformers' prompt ids, greedy tokens and text; --ignore-eos runs to --generate")
    func plainPrompt() throws {
        let plain = try #require(try reference()["plain"])
        let prompt = try #require(plain["prompt"]?.stringValue)
        let json = try run(["--prompt", prompt, "--generate", "12", "--ignore-eos"])
        #expect(json["prompt_tokens"]?.arrayValue == (try ids(plain["prompt_ids"])))
        #expect(json["tokens"]?.arrayValue == (try ids(plain["free_tokens"])))
        #expect(json["text"]?.stringValue == plain["free_text"]?.stringValue)
        #expect(json["stop_reason"]?.stringValue == "length")
        #expect(json.objectValue?.keys == ["prompt_tokens", "tokens", "text", "stop_reason", "prefill_tokens_per_second",
                                            "decode_tokens_per_second", "isa"])
    }

    @Test("an end-of-generation id stops the run: it is the last token and not in the text")
    func endOfGeneration() throws {
        let plain = try #require(try reference()["plain"])
        try #require(plain["eos_stopped"] == .bool(true), "the reference run must stop at an eos id")
        let json = try run(["--prompt", try #require(plain["prompt"]?.stringValue), "--generate", "12"])
        #expect(json["tokens"]?.arrayValue == (try ids(plain["eos_tokens"])))
        #expect(json["text"]?.stringValue == plain["eos_text"]?.stringValue)
        #expect(json["stop_reason"]?.stringValue == "eos")
        // Without --generate a text run goes on until the end of generation.
        let open = try run(["--prompt", try #require(plain["prompt"]?.stringValue)])
        #expect(open["tokens"]?.arrayValue == (try ids(plain["eos_tokens"])))
        #expect(open["stop_reason"]?.stringValue == "eos")
    }

    @Test("--stop: the tokens up to the one completing the string, the text cut before it")
    func stopString() throws {
        let reference = try reference()
        let stop = try #require(reference["stop"])
        let json = try run(["--prompt", try #require(reference["plain"]?["prompt"]?.stringValue), "--generate", "12", "--ignore-eos",
                            "--stop", try #require(stop["string"]?.stringValue), "--stop", "never-generated"])
        #expect(json["tokens"]?.arrayValue == (try ids(stop["tokens"])))
        #expect(json["text"]?.stringValue == stop["text"]?.stringValue)
        #expect(json["stop_reason"]?.stringValue == "stop")
    }

    @Test("--chat --system --var: apply_chat_template's ids, generation up to the eos id")
    func chat() throws {
        let chat = try #require(try reference()["chat"])
        let json = try run(["--chat", "--system", try #require(chat["system"]?.stringValue), "--prompt", try #require(chat["user"]?.stringValue),
                            "--var", "enable_thinking=false", "--generate", "12"])
        #expect(json["prompt_tokens"]?.arrayValue == (try ids(chat["prompt_ids"])))
        #expect(json["tokens"]?.arrayValue == (try ids(chat["tokens"])))
        #expect(json["stop_reason"]?.stringValue == (chat["eos_stopped"] == .bool(true) ? "eos" : "length"))
    }

    @Test("without --generate, a text run stops when the context (--ctx) is full")
    func contextFull() throws {
        let reference = try reference()
        let context = try #require(reference["context"])
        let json = try run(["--prompt", try #require(reference["plain"]?["prompt"]?.stringValue), "--ignore-eos",
                            "--ctx", String(try #require(context["ctx"]?.intValue))])
        #expect(json["tokens"]?.arrayValue == (try ids(context["tokens"])))
        #expect(json["stop_reason"]?.stringValue == "context")
    }

    @Test("text mode streams only the generated text to stdout, timings to stderr")
    func streamedText() throws {
        let plain = try #require(try reference()["plain"])
        let result = try CLI.run(["run", model, "--prompt", try #require(plain["prompt"]?.stringValue), "--generate", "12", "--ignore-eos"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == plain["free_text"]?.stringValue)
        #expect(result.stderr.contains("prompt: 9 tokens in"), "\(result.stderr)")
        #expect(result.stderr.contains("generation: 12 tokens"), "\(result.stderr)")
    }

    @Test("--prompt-file takes the file's bytes; --tokens still prints ids and fills in text")
    func promptFileAndTokens() throws {
        let plain = try #require(try reference()["plain"])
        let file = CLI.temporaryDirectory() + "/prompt.txt"
        try Array((try #require(plain["prompt"]?.stringValue)).utf8).write(to: file)
        let json = try run(["--prompt-file", file, "--generate", "12"])
        #expect(json["prompt_tokens"]?.arrayValue == (try ids(plain["prompt_ids"])))
        #expect(json["tokens"]?.arrayValue == (try ids(plain["eos_tokens"])))

        let promptIDs = try ids(plain["prompt_ids"]).compactMap { $0.intValue }.map(String.init).joined(separator: ",")
        let tokens = try run(["--tokens", promptIDs, "--generate", "12"])
        #expect(tokens["tokens"]?.arrayValue == (try ids(plain["eos_tokens"])))
        #expect(tokens["text"]?.stringValue == plain["eos_text"]?.stringValue)
        let text = try CLI.run(["run", model, "--tokens", promptIDs, "--generate", "12"])
        let expected = try ids(plain["eos_tokens"]).compactMap { $0.intValue }.map(String.init).joined(separator: " ")
        #expect(text.stdout == expected + "\n")
        // --generate 0: no stop reason.
        let none = try run(["--tokens", promptIDs, "--generate", "0", "--logits", CLI.temporaryDirectory() + "/l.npy"])
        #expect(none["stop_reason"] == nil)
        #expect(none["tokens"]?.arrayValue == [])
    }

    @Test("bad input: context overflow before allocation, --ctx past training, conflicting prompts, no template")
    func errors() throws {
        let prompt = "The quick brown fox"
        func failure(_ arguments: [String], status: Int32 = 1, _ needle: String) throws {
            let result = try CLI.run(["run"] + arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(needle), "\(arguments): \(result.stderr)")
            if status == 1 { #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error") }.count == 1) }
        }
        try failure([model, "--prompt", prompt, "--generate", "1000"], "exceed the context of 128 tokens")
        try failure([model, "--prompt", prompt, "--generate", "\(Int.max)"], "\(Int.max)")
        try failure([model, "--prompt", prompt, "--ctx", "4096"], "larger than the model's trained context of 128")
        try failure([model, "--prompt", prompt, "--ctx", "3"], "leave no room to generate in the context of 3")
        try failure([model, "--prompt", prompt, "--tokens", "1"], status: 64, "exactly one of --tokens, --prompt and --prompt-file")
        try failure([model, "--tokens", "1", "--chat", "--generate", "1"], status: 64, "--chat needs --prompt")
        try failure([CLI.fixture("models/qwen3-tiny"), "--prompt", prompt, "--chat"], "no chat template")
        let bad = CLI.temporaryDirectory() + "/bad.txt"
        try [0x61, 0x62, 0xFF, 0x63].write(to: bad)
        try failure([model, "--prompt-file", bad], "byte offset 2")
    }
}

private extension Array where Element == UInt8 {
    func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}
