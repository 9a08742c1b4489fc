import Foundation
import Testing
import WeightFormats

/// `weightkit tokenize` and `weightkit detokenize`: the contracts of issue item 2.
@Suite struct TokenizeCommandTests {
    static let qwen2 = CLI.fixture("tokenizers/llama-vocabs/qwen2.gguf")

    /// The cut vocabulary's ids as llama.cpp's full vocabulary numbers them.
    static func originalIDs(_ path: String) throws -> [Int] {
        let ids = try GGUFFile(path: path).metadata.array("weightkit.test.original_token_ids")?.integers()
        return try #require(ids)
    }

    /// llama.cpp's ids for a text of the fixture record (add_special, parse_special).
    static func reference(_ name: String, text: String, add: Bool, parse: Bool) throws -> [Int] {
        let record = try CLI.json("tokenizers/llama-vocabs/\(name).json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let index = try #require(texts.firstIndex(of: text))
        let encodes = try #require(record["encode"]?.arrayValue)
        let found = encodes.first {
            $0.arrayValue?[0].intValue == index && $0.arrayValue?[1].boolValue == add && $0.arrayValue?[2].boolValue == parse
        }
        let entry = try #require(found)
        let ids = entry.arrayValue?[3].arrayValue?.compactMap(\.intValue)
        return try #require(ids)
    }

    @Test("--json prints ids and the vocabulary's pieces; ids are llama.cpp's")
    func jsonContract() throws {
        let text = "Hello world"
        let result = try CLI.run(["tokenize", Self.qwen2, "--text", text, "--no-add-special", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json.objectValue?.keys == ["ids", "pieces"])
        let idValues = json["ids"]?.arrayValue?.compactMap(\.intValue)
        let ids = try #require(idValues)
        let original = try Self.originalIDs(Self.qwen2)
        #expect(ids.map { original[$0] } == (try Self.reference("qwen2", text: text, add: false, parse: false)))
        #expect(json["pieces"]?.arrayValue?.compactMap(\.stringValue) == ["Hello", "Ġworld"])
    }

    @Test("text output: the ids space-separated; add-special and parse-special as llama.cpp")
    func textOutput() throws {
        let name = "llama-spm"
        let path = CLI.fixture("tokenizers/llama-vocabs/\(name).gguf")
        let original = try Self.originalIDs(path)
        let text = " Hello"
        let plain = try CLI.run(["tokenize", path, "--text", text])
        #expect(plain.status == 0, "\(plain.stderr)")
        let ids = plain.stdout.split(separator: "\n")[0].split(separator: " ").compactMap { Int($0) }.map { original[$0] }
        #expect(ids == (try Self.reference(name, text: text, add: true, parse: true)))
    }

    @Test("--file takes the bytes exactly, trailing newlines included")
    func fileBytesExactly() throws {
        let text = "    Hello\n    Hello"
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/text.txt"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let result = try CLI.run(["tokenize", Self.qwen2, "--file", file, "--no-add-special"])
        #expect(result.status == 0, "\(result.stderr)")
        let original = try Self.originalIDs(Self.qwen2)
        let ids = result.stdout.split(separator: "\n")[0].split(separator: " ").compactMap { Int($0) }.map { original[$0] }
        #expect(ids == (try Self.reference("qwen2", text: text, add: false, parse: false)))
        // A trailing newline changes the ids: nothing is stripped.
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let withNewline = try CLI.run(["tokenize", Self.qwen2, "--file", file, "--no-add-special"])
        #expect(withNewline.stdout != result.stdout)
    }

    @Test("invalid UTF-8 in --file: one line naming the byte offset")
    func invalidUTF8() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/bad.txt"
        try Data([0x48, 0x69, 0x20, 0xE2, 0x82, 0x41]).write(to: URL(fileURLWithPath: file))
        let result = try CLI.run(["tokenize", Self.qwen2, "--file", file])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(file): not valid UTF-8 at byte offset 3\n")
    }

    @Test("exactly one of --text and --file")
    func textOrFile() throws {
        #expect(try CLI.run(["tokenize", Self.qwen2]).status != 0)
        #expect(try CLI.run(["tokenize", Self.qwen2, "--text", "a", "--file", "b"]).status != 0)
    }

    @Test("detokenize --json gives llama.cpp's text; special tokens kept unless --skip-special")
    func detokenize() throws {
        let record = try CLI.json("tokenizers/llama-vocabs/qwen2.json")
        let encodes = try #require(record["encode"]?.arrayValue)
        let decodes = try #require(record["decode"]?.arrayValue)
        let original = try Self.originalIDs(Self.qwen2)
        var back: [Int: Int] = [:]
        for (cut, id) in original.enumerated() { back[id] = cut }
        // A decode record with remove_special false, both render settings.
        for render in [true, false] {
            let found = decodes.first { $0.arrayValue?[1].boolValue == false && $0.arrayValue?[2].boolValue == render }
            let entry = try #require(found)
            let index = try #require(entry.arrayValue?[0].intValue)
            let recorded = encodes[index].arrayValue?[3].arrayValue?.compactMap(\.intValue)
            let ids = try #require(recorded).map { back[$0] ?? -1 }
            var arguments = ["detokenize", Self.qwen2, "--tokens", ids.map(String.init).joined(separator: ","), "--json"]
            if !render { arguments.append("--skip-special") }
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.json?.objectValue?.keys == ["text"])
            let expected = String(decoding: try hex(try #require(entry.arrayValue?[3].stringValue)), as: UTF8.self)
            #expect(result.json?["text"]?.stringValue == expected)
            // Text mode into a file: the bytes exactly.
            let plain = try CLI.run(arguments.filter { $0 != "--json" })
            #expect(plain.stdout == expected)
        }
    }

    @Test("detokenize: an id outside the vocabulary is one line naming --tokens")
    func detokenizeBadID() throws {
        let result = try CLI.run(["detokenize", Self.qwen2, "--tokens", "1,999999"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: --tokens: 999999"))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test("a Hugging Face directory, a tokenizer.json and a tokenizer.model as MODEL")
    func otherSources() throws {
        let directory = CLI.fixture("tokenizers/hf-from-gguf/qwen2")
        let fromDirectory = try CLI.run(["tokenize", directory, "--text", "Hello world", "--json"])
        let fromFile = try CLI.run(["tokenize", directory + "/tokenizer.json", "--text", "Hello world", "--json"])
        #expect(fromDirectory.status == 0, "\(fromDirectory.stderr)")
        #expect(fromDirectory.stdout == fromFile.stdout)
        let model = try CLI.run(["tokenize", CLI.fixture("tokenizers/sentencepiece/spm-bpe.model"), "--text", "the quick fox"])
        #expect(model.status == 0, "\(model.stderr)")
        #expect(!model.stdout.isEmpty)
    }

    @Test("every bad tokenizer file: exit 1 and one line on stderr")
    func badFiles() throws {
        let document = try CLI.json("tokenizers/bad/expected.json")
        let expected = try #require(document.objectValue)
        for (file, error) in expected where !error.isNull {
            let result = try CLI.run(["tokenize", CLI.fixture("tokenizers/bad/\(file)"), "--text", "abc"])
            #expect(result.status == 1, "\(file)")
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.filter { $0 == "\n" }.count == 1, "\(file): \(result.stderr)")
        }
    }

    private func hex(_ text: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = text.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let value = UInt8(String([high, low]), radix: 16) else { throw CocoaError(.formatting) }
            bytes.append(value)
        }
        return bytes
    }
}
