import Foundation
import Testing
import WeightFormats

/// `weightkit template` against transformers' renders (Fixtures/templates/).
@Suite struct TemplateCommandTests {
    func conversationFile(_ messages: JSONValue) throws -> String {
        let directory = CLI.temporaryDirectory()
        let path = directory + "/messages.json"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(JSONWriter.string(messages).utf8)))
        return path
    }

    @Test func rendersAModelDirectoryAsTransformers() throws {
        let record = try #require(try CLI.json("templates/models.json")["hf_directory"])
        let messages = try conversationFile(try #require(record["messages"]))
        let result = try CLI.run(["template", CLI.fixture("tokenizers/bpe-qwen2"), "--messages", messages])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == record["text"]?.stringValue)
    }

    @Test func rendersAGGUFTemplateAsJSON() throws {
        let record = try #require(try CLI.json("templates/models.json")["gguf"])
        let messages = try conversationFile(try #require(record["messages"]))
        let result = try CLI.run(["template", CLI.fixture("tokenizers/bpe-qwen2/llama.cpp.gguf"), "--messages", messages, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json?["text"]?.stringValue == record["text"]?.stringValue)
    }

    @Test func templateFileWithVariablesAndNoGenerationPrompt() throws {
        let cases = try #require(try CLI.json("templates/cases.json")["cases"]?.arrayValue)
        let renders = try CLI.json("templates/renders.json")
        let thinkingOff = try #require(cases.first { $0["name"]?.stringValue == "thinking_off" })
        let messages = try conversationFile(try #require(thinkingOff["messages"]))
        let template = CLI.fixture("templates/jinja/Qwen-Qwen3-0.6B.jinja")
        let result = try CLI.run(["template", "--template", template, "--messages", messages, "--var", "enable_thinking=false",
                                  "--bos-token", "<s>", "--eos-token", "</s>", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.json?["text"]?.stringValue == renders["Qwen-Qwen3-0.6B"]?["thinking_off"]?["text"]?.stringValue)
        let plain = try CLI.run(["template", "--template", template, "--messages", messages, "--no-generation-prompt",
                                 "--bos-token", "<s>", "--eos-token", "</s>"])
        #expect(plain.stdout == renders["Qwen-Qwen3-0.6B"]?["no_generation_prompt"]?["text"]?.stringValue)
    }

    @Test func refusalsAreOneLineErrors() throws {
        let cases = try #require(try CLI.json("templates/cases.json")["cases"]?.arrayValue)
        let messages = try conversationFile(try #require(cases.first?["messages"]))
        let result = try CLI.run(["template", "--template", CLI.fixture("templates/jinja/google-gemma-2-2b-it.jinja"), "--messages", messages])
        #expect(result.status == 1)
        #expect(result.stderr == "error: chat template line 1: TemplateError: System role not supported\n")
        let badVar = try CLI.run(["template", "--template", CLI.fixture("templates/smollm2/chat_template.jinja"), "--messages", messages, "--var", "x=nope"])
        #expect(badVar.status == 1)
        #expect(badVar.stderr.hasPrefix("error: --var x: the value is not JSON"))
        #expect(badVar.stderr.split(separator: "\n").count == 1)
        let missing = try CLI.run(["template", "--messages", messages])
        #expect(missing.status != 0 && missing.status != 1)
    }
}
