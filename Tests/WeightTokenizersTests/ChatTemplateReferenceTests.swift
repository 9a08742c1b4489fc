import Testing
import WeightFormats
@testable import WeightTokenizers

/// Renders recorded by Fixtures/generators/chat_templates.py with transformers 5's own
/// render_jinja_template: every template of llama.cpp's models/templates/ collection (the
/// llama-cpp-python 0.3.36 sdist) for each case, and SmolLM2-135M-Instruct's GGUF template.
enum TemplateFixtures {
    static func text(_ relative: String) throws -> String {
        String(decoding: try FileSystem.readFile(Fixture.path(relative)), as: UTF8.self)
    }

    static let pinnedDate = TemplateDate(year: 2025, month: 3, day: 14, hour: 9, minute: 26, second: 53)

    struct Case {
        let name: String
        let messages: [JSONValue]
        let addGenerationPrompt: Bool
        let variables: [String: JSONValue]
    }

    static func cases() throws -> (cases: [Case], bos: String, eos: String) {
        let root = try Fixture.json("templates/cases.json")
        let bos = try #require(root["bos_token"]?.stringValue)
        let eos = try #require(root["eos_token"]?.stringValue)
        #expect(root["pinned_now"]?.stringValue == "2025-03-14T09:26:53")
        let list = try #require(root["cases"]?.arrayValue)
        let cases = try list.map { entry in
            var variables: [String: JSONValue] = [:]
            for (key, value) in entry["variables"]?.objectValue ?? JSONObject() { variables[key] = value }
            if let tools = entry["tools"] { variables["tools"] = tools }
            return Case(name: try #require(entry["name"]?.stringValue), messages: try #require(entry["messages"]?.arrayValue),
                        addGenerationPrompt: try #require(entry["add_generation_prompt"]?.boolValue), variables: variables)
        }
        return (cases, bos, eos)
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case text(String)
        case error(type: String, message: String)
        case other(String)

        var description: String {
            switch self {
            case .text(let t): return "text(\(t.debugDescription))"
            case .error(let type, let message): return "\(type): \(message)"
            case .other(let s): return "engine: \(s)"
            }
        }
    }

    static func expected(_ record: JSONValue) throws -> Outcome {
        if let text = record["text"]?.stringValue { return .text(text) }
        return .error(type: try #require(record["type"]?.stringValue), message: try #require(record["error"]?.stringValue))
    }

    static func render(_ source: String, _ c: Case, bos: String, eos: String) -> Outcome {
        do {
            var template = try ChatTemplate(source)
            template.specialTokens = ["bos_token": bos, "eos_token": eos]
            template.date = pinnedDate
            return .text(try template.render(messages: c.messages, addGenerationPrompt: c.addGenerationPrompt, variables: c.variables))
        } catch {
            if let type = error.pythonType { return .error(type: type, message: error.message) }
            return .other(error.description)
        }
    }
}

@Suite struct ChatTemplateReferenceTests {
    @Test func everyCollectedTemplateRendersAsTransformers() throws {
        let renders = try #require(try Fixture.json("templates/renders.json").objectValue)
        let (cases, bos, eos) = try TemplateFixtures.cases()
        let files = try FileSystem.contentsOfDirectory(Fixture.path("templates/jinja")).filter { $0.hasSuffix(".jinja") }
        #expect(files.count == 70)
        #expect(renders.count == files.count)
        var mismatches: [String] = []
        for (name, perCase) in renders {
            let source = try TemplateFixtures.text("templates/jinja/\(name).jinja")
            for c in cases {
                let expected = try TemplateFixtures.expected(try #require(perCase[c.name]))
                let actual = TemplateFixtures.render(source, c, bos: bos, eos: eos)
                if actual != expected { mismatches.append("\(name) [\(c.name)]: expected \(expected)\n   got \(actual)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) renders differ:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func smolLM2TemplateFromItsGGUFRendersAsTransformers() throws {
        let record = try Fixture.json("templates/smollm2/renders.json")
        let bos = try #require(record["bos_token"]?.stringValue)
        let eos = try #require(record["eos_token"]?.stringValue)
        let renders = try #require(record["renders"]?.objectValue)
        let source = try TemplateFixtures.text("templates/smollm2/chat_template.jinja")
        let (cases, _, _) = try TemplateFixtures.cases()
        #expect(renders.count == cases.count)
        for c in cases {
            let expected = try TemplateFixtures.expected(try #require(renders[c.name]))
            #expect(TemplateFixtures.render(source, c, bos: bos, eos: eos) == expected, "case \(c.name)")
        }
    }
}

@Suite struct ChatTemplateSnippetTests {
    /// Snippets whose reference output this engine deliberately refuses to produce.
    static let refusedByDesign: [String: String] = [
        "big_int": "beyond 64 bits",
        "groupby": "groupby",
    ]

    @Test func everySnippetMatchesJinja2() throws {
        let snippets = try #require(try Fixture.json("templates/snippets.json").arrayValue)
        #expect(snippets.count > 50)
        var mismatches: [String] = []
        for snippet in snippets {
            let name = try #require(snippet["name"]?.stringValue)
            let source = try #require(snippet["template"]?.stringValue)
            var variables: [String: JSONValue] = [:]
            for (key, value) in try #require(snippet["context"]?.objectValue) { variables[key] = value }
            let actual: TemplateFixtures.Outcome
            do {
                var template = try ChatTemplate(source)
                template.date = TemplateFixtures.pinnedDate
                actual = .text(try template.renderContext(variables))
            } catch {
                actual = error.pythonType.map { .error(type: $0, message: error.message) } ?? .other(error.description)
            }
            if let feature = Self.refusedByDesign[name] {
                if case .other(let text) = actual, text.contains(feature) { continue }
                mismatches.append("\(name): expected refusal naming '\(feature)', got \(actual)")
                continue
            }
            let expected = try TemplateFixtures.expected(snippet)
            if actual != expected { mismatches.append("\(name): expected \(expected)\n   got \(actual)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) snippets differ:\n\(mismatches.joined(separator: "\n"))")
    }
}
