import Foundation
import Testing
import WeightFormats

/// `weightkit budget A B C`: one table with a column per model, a JSON array (one path keeps
/// its object), one SVG comparing them; each column as the model's own budget.
@Suite struct BudgetSideBySideTests {
    static let paths = [CLI.fixture("budget/configs/mistral-7b"), CLI.fixture("budget/configs/phi-3-mini/config.json"),
                        CLI.fixture("budget/configs/qwen3-8b"), CLI.fixture("models/qwen3moe-tiny")]

    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return text
    }

    @Test("--json: an array of each model's own object, with its path, at the same contexts")
    func jsonArray() throws {
        let result = try CLI.run(["budget"] + Self.paths + ["--json", "--ctx", "4096,32768"])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try #require(result.json?.arrayValue)
        #expect(array.count == Self.paths.count)
        for (path, entry) in zip(Self.paths, array) {
            let alone = try #require(try CLI.run(["budget", path, "--json", "--ctx", "4096,32768"]).json)
            #expect(entry["path"]?.stringValue == path)
            #expect(entry.objectValue?.keys == ["path"] + (alone.objectValue?.keys ?? []))
            for key in alone.objectValue?.keys ?? [] { #expect(entry[key] == alone[key], "\(path): \(key)") }
        }
        // transformers' counts, model by model.
        let references = try CLI.json("budget/parameters.json")
        #expect(array[0]["parameters"]?["total"] == references["published"]?["mistral-7b"]?["total"])
        #expect(array[1]["parameters"]?["total"] == references["published"]?["phi-3-mini"]?["total"])
        #expect(array[3]["parameters"]?["total"] == references["tiny"]?["qwen3moe-tiny"]?["total"])
    }

    @Test("one path keeps today's object")
    func onePath() throws {
        let json = try #require(try CLI.run(["budget", Self.paths[0], "--json"]).json)
        #expect(json.objectValue != nil)
        #expect(json["path"] == nil)
        #expect(json.objectValue?.keys.first == "architecture")
        let attention = try #require(json["architecture"]?["text"]?["attention"])
        let config = try CLI.json("budget/configs/mistral-7b/config.json")
        let heads = try #require(config["num_attention_heads"]?.intValue), kv = try #require(config["num_key_value_heads"]?.intValue)
        #expect(attention["kind"]?.stringValue == "GQA")
        #expect(attention["query_heads_per_kv_head"]?.intValue == heads / kv)
        #expect(attention["kv_saving_vs_mha"]?.doubleValue == 1 - Double(kv) / Double(heads))
    }

    @Test("without --ctx, every model at every model's default contexts")
    func contextsUnion() throws {
        let array = try #require(try CLI.run(["budget"] + Self.paths + ["--json"]).json?.arrayValue)
        var union = Set<Int>()
        for path in Self.paths {
            let alone = try #require(try CLI.run(["budget", path, "--json"]).json)
            for entry in alone["kv_cache"]?["contexts"]?.arrayValue ?? [] { union.insert(try #require(entry["ctx"]?.intValue)) }
        }
        #expect(union.count > 2)
        for entry in array {
            #expect(entry["kv_cache"]?["contexts"]?.arrayValue?.compactMap { $0["ctx"]?.intValue } == union.sorted())
        }
    }

    @Test("text: one table, a column per model, its rows from each model's budget")
    func table() throws {
        let result = try CLI.run(["budget"] + Self.paths + ["--ctx", "4096"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let header = try #require(lines.dropFirst().first)
        for title in ["mistral-7b", "phi-3-mini", "qwen3-8b", "qwen3moe-tiny"] { #expect(header.contains(title), "\(title)") }
        let json = try #require(try CLI.run(["budget"] + Self.paths + ["--json", "--ctx", "4096"]).json?.arrayValue)
        func row(_ label: String) throws -> [String] {
            let line = try #require(lines.first { $0.hasPrefix(label + " ") }, "\(label)")
            return line.dropFirst(label.count).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        }
        #expect(try row("  total") == json.map { Self.grouped($0["parameters"]?["total"]?.intValue ?? -1) })
        #expect(try row("  bytes per token") == json.map { Self.grouped($0["kv_cache"]?["bytes_per_token"]?.intValue ?? -1) })
        #expect(try row("layers") == json.map { String($0["architecture"]?["text"]?["layers"]?.intValue ?? -1) })
        let kinds = try row("attention").joined(separator: " ")
        for entry in json { #expect(kinds.contains(entry["architecture"]?["text"]?["attention"]?["kind"]?.stringValue ?? "?")) }
        for label in ["KV saving vs MHA", "sliding window", "parameters", "weights", "  q4_k", "  at 4,096", "  llama.cpp at 4,096",
                      "FLOPs per token", "  decode at 4,096"] {
            #expect(lines.contains { $0.hasPrefix(label) }, "\(label)")
        }
        #expect(!lines.contains { $0.hasSuffix(" ") })
    }

    @Test("--plot: one SVG with every model's KV curve and bars")
    func plot() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/compare.svg"
        let result = try CLI.run(["budget"] + Self.paths + ["--plot", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("chart written to \(output)"))
        let svg = try String(contentsOfFile: output, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        for title in ["mistral-7b", "phi-3-mini", "qwen3-8b", "qwen3moe-tiny"] { #expect(svg.contains(">\(title)<"), "\(title)") }
        // A held-cache curve per decoder, dashed ones where llama.cpp allocates more (the two windowed models).
        let dashed = svg.components(separatedBy: "stroke-dasharray=\"6,4\"").count - 1
        #expect(dashed == 2)
        #expect(svg.components(separatedBy: "<polyline").count - 1 == Self.paths.count + dashed)
        #expect(svg.contains("Parameters by component") && svg.contains("KV cache against context"))
    }

    @Test("a bad path fails the whole command, naming it; nothing is written")
    func badPath() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/compare.svg"
        let missing = directory + "/missing-model"
        let result = try CLI.run(["budget", Self.paths[0], missing, "--plot", output])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(missing), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        let vision = CLI.fixture("budget/configs/clip-vit-large-patch14-336-vision")
        let lora = try CLI.run(["budget", Self.paths[0], vision, "--lora-rank", "8"])
        #expect(lora.status == 1)
        #expect(lora.stderr.contains(vision) && lora.stderr.contains("--lora-rank"), "\(lora.stderr)")
        let none = try CLI.run(["budget"])
        #expect(none.status == 64)
    }
}
