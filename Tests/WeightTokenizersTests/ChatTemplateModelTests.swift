import Testing
import WeightFormats
@testable import WeightTokenizers

/// Templates read from a model (Hugging Face directory, GGUF), against
/// Fixtures/templates/models.json (transformers' apply_chat_template and render_jinja_template).
@Suite struct ChatTemplateModelTests {
    func check(_ key: String) throws {
        let record = try #require(try Fixture.json("templates/models.json")[key])
        let path = Fixture.path(try #require(record["path"]?.stringValue))
        let loaded = try ModelChatTemplate.load(path: path)
        var expectedTokens: [String: String] = [:]
        for (name, value) in try #require(record["special_tokens"]?.objectValue) { expectedTokens[name] = value.stringValue }
        #expect(loaded.specialTokens == expectedTokens)
        var template = try loaded.template()
        template.date = TemplateFixtures.pinnedDate
        let text = try template.render(messages: try #require(record["messages"]?.arrayValue))
        #expect(text == record["text"]?.stringValue)
    }

    @Test func huggingFaceDirectoryTemplateAndTokens() throws { try check("hf_directory") }
    @Test func ggufTemplateAndTokens() throws { try check("gguf") }

    @Test func unknownTemplateNameListsTheNamesThereAre() throws {
        let path = Fixture.path("tokenizers/bpe-qwen2/llama.cpp.gguf")
        #expect(throws: ChatTemplateError.templateNotFound(path: path, name: "tool_use", available: ["default"])) {
            try ModelChatTemplate.load(path: path, name: "tool_use")
        }
    }
}

/// Hostile and broken templates: each a typed error, never a hang or a crash.
@Suite struct ChatTemplateBadInputTests {
    static let conversation: [JSONValue] = [.object(JSONObject([("role", .string("user")), ("content", .string("hi"))]))]

    func render(_ source: String, limits: ChatTemplate.Limits = .init()) throws(ChatTemplateError) -> String {
        var template = try ChatTemplate(source)
        template.limits = limits
        template.date = TemplateFixtures.pinnedDate
        return try template.render(messages: Self.conversation)
    }

    @Test func aTemplateThatLoopsForeverStopsAtTheStepBudget() {
        let forever = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        #expect(throws: ChatTemplateError.stepLimitExceeded(limit: 100_000)) {
            try render(forever, limits: .init(maxSteps: 100_000))
        }
    }

    @Test func outputPastTheCapStops() {
        let huge = "{% for i in range(100000) %}{% for j in range(100000) %}0123456789{% endfor %}{% endfor %}"
        #expect(throws: ChatTemplateError.outputLimitExceeded(limit: 1000)) {
            try render(huge, limits: .init(maxOutputBytes: 1000))
        }
        #expect(throws: ChatTemplateError.outputLimitExceeded(limit: ChatTemplate.maxOutputBytes)) {
            try render("{{ 'x' * 1000000000 }}")
        }
    }

    @Test func unboundedRecursionStopsAtTheCallDepth() {
        #expect(throws: ChatTemplateError.callDepthExceeded(limit: ChatTemplate.maxCallDepth, line: 1)) {
            try render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
        }
    }

    @Test func deepNestingIsRefusedWhileParsing() {
        let deep = "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}"
        #expect(throws: ChatTemplateError.nestingTooDeep(limit: TemplateLexer.maxBracketDepth, line: 1)) { try render(deep) }
        let nots = "{{ " + String(repeating: "not ", count: 5000) + "1 }}"
        #expect(throws: ChatTemplateError.nestingTooDeep(limit: TemplateParser.maxDepth, line: 1)) { try render(nots) }
    }

    @Test func unsupportedFeaturesNameThemselvesAndTheirLine() {
        #expect(throws: ChatTemplateError.unsupported(feature: "the 'include' tag", line: 2)) { try render("a\n{% include 'x.jinja' %}") }
        #expect(throws: ChatTemplateError.unsupported(feature: "the 'urlize' filter", line: 3)) { try render("\n\n{{ 'x' | urlize }}") }
        #expect(throws: ChatTemplateError.unsupported(feature: "recursive for loops", line: 1)) {
            try render("{% for x in [] recursive %}{% endfor %}")
        }
    }

    @Test func syntaxErrorsCarryJinjasMessageAndLine() {
        #expect(throws: ChatTemplateError.syntax(message: "Encountered unknown tag 'frobnicate'.", line: 3)) {
            try render("\n\n{% frobnicate %}")
        }
        #expect(throws: ChatTemplateError.syntax(message: "Missing end of comment tag", line: 1)) { try render("{# never closed") }
    }

    @Test func badArgumentsNameTheParameter() {
        #expect(throws: ChatTemplateError.invalidArgument(parameter: "messages", reason: "Cannot apply chat template to an empty conversation. Provide at least one message.")) {
            try ChatTemplate("x").render(messages: [])
        }
        #expect(throws: ChatTemplateError.invalidArgument(parameter: "messages", reason: "message 0 is not a JSON object")) {
            try ChatTemplate("x").render(messages: [.string("hi")])
        }
        #expect(throws: ChatTemplateError.invalidArgument(parameter: "variables", reason: "'messages' is set by the renderer itself")) {
            try ChatTemplate("x").render(messages: Self.conversation, variables: ["messages": .null])
        }
    }

    @Test func errorsPrintOnOneLine() {
        let error = ChatTemplateError.raised(pythonType: "TemplateError", message: "two\nlines", line: 4)
        #expect(error.description == "chat template line 4: TemplateError: two lines")
    }
}
