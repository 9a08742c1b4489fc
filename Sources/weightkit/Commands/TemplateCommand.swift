import ArgumentParser
import WeightFormats
import WeightTokenizers

struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a conversation with a model's chat template, as transformers does.",
        discussion: """
            MODEL is a Hugging Face directory or a .gguf file. Its template is read from, in \
            this order: chat_template.jinja, chat_template.json, tokenizer_config.json, the \
            GGUF's tokenizer.chat_template. Named templates (tokenizer.chat_template.NAME, \
            template lists) are chosen with --template-name. Without MODEL, --template is \
            required and the bos/eos tokens are empty unless given.

            --messages is a JSON array of messages ({"role": ..., "content": ...} and whatever \
            else the template reads, such as tool_calls); --tools a JSON array of tool \
            schemas; --var KEY=JSON sets a further template variable (e.g. \
            --var enable_thinking=false). The rendered text goes to stdout as it is (control \
            characters escaped as \\xNN on a terminal); --json prints {"text": ...}.

            Examples:
              weightkit template ./Qwen3-0.6B --messages chat.json --var enable_thinking=false
              weightkit template --template Fixtures/templates/smollm2/chat_template.jinja --messages chat.json --json
            """
    )

    @Argument(help: "A Hugging Face model directory or a .gguf file.")
    var model: String?

    @Option(help: "A JSON file holding the conversation (an array of messages).")
    var messages: String

    @Option(help: "A Jinja file to use instead of the model's template.")
    var template: String?

    @Option(help: "The model's template to use, by name.")
    var templateName: String = "default"

    @Option(help: "A JSON file holding the tools (an array of schemas).")
    var tools: String?

    @Option(name: .customLong("var"), help: "A template variable: KEY=JSON (repeatable).")
    var variables: [String] = []

    @Flag(help: "Render without the generation prompt (add_generation_prompt=false).")
    var noGenerationPrompt = false

    @Option(help: "The bos_token the template sees (default: the model's).")
    var bosToken: String?

    @Option(help: "The eos_token the template sees (default: the model's).")
    var eosToken: String?

    @Flag(help: "Print {\"text\": ...}.")
    var json = false

    func validate() throws {
        if model == nil && template == nil { throw ValidationError("give MODEL or --template FILE.jinja") }
    }

    func run() throws {
        try reportingErrors {
            var specialTokens: [String: String] = [:]
            var source: String
            if let model {
                let loaded = try ModelChatTemplate.load(path: model, name: templateName)
                specialTokens = loaded.specialTokens
                source = loaded.source
            } else {
                specialTokens = ["bos_token": "", "eos_token": ""]
                source = ""
            }
            if let template { source = try Self.readText(template, flag: "--template") }
            if let bosToken { specialTokens["bos_token"] = bosToken }
            if let eosToken { specialTokens["eos_token"] = eosToken }

            let conversation = try Self.readJSON(messages, flag: "--messages")
            guard let messageList = conversation.arrayValue else {
                throw CommandFailure("--messages \(messages): expected a JSON array of messages")
            }
            let variables = try Self.variables(tools: tools, assignments: self.variables)
            var chatTemplate = try ChatTemplate(source)
            chatTemplate.specialTokens = specialTokens
            let text: String
            do {
                text = try chatTemplate.render(messages: messageList, addGenerationPrompt: !noGenerationPrompt, variables: variables)
            } catch ChatTemplateError.invalidArgument(let parameter, let reason) {
                let flag = parameter.hasPrefix("messages") ? "--messages" : parameter.hasPrefix("variables[tools]") ? "--tools" : "--var"
                throw CommandFailure("\(flag): \(reason)")
            }
            if json {
                var stream = JSONStream()
                stream.raw("{")
                stream.key("text")
                stream.string(text)
                stream.raw("}")
                stream.finish()
            } else {
                var out = OutputBuffer()
                out.append(Terminal.stdoutIsTerminal ? Self.escapingControls(text) : text)
                out.flush()
            }
        }
    }

    /// The template variables of `--tools T.json` (as `tools`) and `--var KEY=JSON`.
    static func variables(tools: String?, assignments: [String]) throws -> [String: JSONValue] {
        var variables: [String: JSONValue] = [:]
        if let tools {
            let value = try readJSON(tools, flag: "--tools")
            guard value.arrayValue != nil else { throw CommandFailure("--tools \(tools): expected a JSON array of tool schemas") }
            variables["tools"] = value
        }
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw CommandFailure("--var \(assignment): expected KEY=JSON")
            }
            let key = String(assignment[..<equals])
            do {
                variables[key] = try JSON.parse(String(assignment[assignment.index(after: equals)...]))
            } catch let error as FormatError {
                throw CommandFailure("--var \(key): the value is not JSON (\(error.description))")
            }
        }
        return variables
    }

    static func readText(_ path: String, flag: String) throws -> String {
        let bytes = try FileSystem.readFile(path, limit: ChatTemplate.maxSourceBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CommandFailure("\(flag) \(path): not UTF-8 text") }
        return text
    }

    static func readJSON(_ path: String, flag: String) throws -> JSONValue {
        do {
            return try JSON.parse(FileSystem.readFile(path))
        } catch let error as FormatError {
            throw CommandFailure("\(flag) \(path): \(error.description)")
        }
    }

    /// C0 and C1 control characters other than newline and tab as `\xNN`, for a terminal.
    static func escapingControls(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            if (c.value < 0x20 && c != "\n" && c != "\t") || c.value == 0x7F || (0x80...0x9F).contains(c.value) {
                let hex = String(c.value, radix: 16)
                out.append(contentsOf: ("\\x" + (hex.count < 2 ? "0" : "") + hex).unicodeScalars)
            } else {
                out.append(c)
            }
        }
        return String(out)
    }
}
