import Testing
import WeightFormats
@testable import WeightTokenizers

/// llama.cpp's vocabularies (cut to the test texts, see Fixtures/generators/tokenizers.py)
/// against llama.cpp's test vectors and llama.cpp itself.
@Suite struct LlamaVocabularyTests {
    /// Every vocabulary the fixture script records; the 15 with test vectors first.
    static let withVectors = [
        "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe", "llama-spm",
        "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ]
    static let withoutVectors = ["aquila", "baichuan", "gpt-neox", "nomic-bert-moe"]

    struct Loaded {
        let tokenizer: Tokenizer
        let vocabulary: LlamaVocabulary
        /// Cut id -> id in llama.cpp's full vocabulary.
        let original: [Int]
        let record: JSONValue
    }

    static func load(_ name: String) throws -> Loaded {
        let path = Fixture.path("tokenizers/llama-vocabs/\(name).gguf")
        let gguf = try GGUFFile(path: path)
        let tokenizer = try Tokenizer(gguf: gguf)
        guard case .llama(let vocabulary, _) = tokenizer.backend else { throw FixtureError.malformed("not a llama.cpp vocabulary") }
        guard let original = gguf.metadata.array("weightkit.test.original_token_ids")?.integers() else {
            throw FixtureError.malformed("\(name).gguf has no weightkit.test.original_token_ids")
        }
        return Loaded(tokenizer: tokenizer, vocabulary: vocabulary, original: original,
                      record: try Fixture.json("tokenizers/llama-vocabs/\(name).json"))
    }

    /// test-tokenizer-0: every case encoded without special tokens equals its .out line.
    @Test(arguments: withVectors)
    func testVectors(_ name: String) throws {
        let loaded = try Self.load(name)
        let cases = try TestVectors.read(Fixture.path("tokenizers/llama-vocabs/\(name).gguf"))
        #expect(cases.count == (loaded.record["cases"]?.intValue ?? -1))
        var failures = 0
        for (text, expected) in cases {
            let ids = loaded.tokenizer.encode(text, addSpecial: false, parseSpecial: false).map { loaded.original[$0] }
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name): \(text.debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) cases differ")
    }

    /// Every text with and without add_special/parse_special, as llama.cpp encodes it.
    @Test(arguments: withVectors + withoutVectors)
    func encodingMatchesLlamaCpp(_ name: String) throws {
        let loaded = try Self.load(name)
        let texts = try #require(loaded.record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let records = try #require(loaded.record["encode"]?.arrayValue)
        #expect(!records.isEmpty)
        var failures = 0
        for record in records {
            guard let fields = record.arrayValue, fields.count == 4, let index = fields[0].intValue,
                  let add = fields[1].boolValue, let parse = fields[2].boolValue, let expected = fields[3].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed encode record"); continue }
            let ids = loaded.tokenizer.encode(texts[index], addSpecial: add, parseSpecial: parse).map { loaded.original[$0] }
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name) add=\(add) parse=\(parse): \(texts[index].debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(records.count) encodings differ")
    }

    /// Detokenizing with every combination of remove_special / unparse_special.
    @Test(arguments: withVectors + withoutVectors)
    func decodingMatchesLlamaCpp(_ name: String) throws {
        let loaded = try Self.load(name)
        var back: [Int: Int32] = [:]
        for (cut, original) in loaded.original.enumerated() { back[original] = Int32(cut) }
        let encodes = try #require(loaded.record["encode"]?.arrayValue)
        let records = try #require(loaded.record["decode"]?.arrayValue)
        #expect(!records.isEmpty)
        var failures = 0
        for record in records {
            guard let fields = record.arrayValue, fields.count == 4, let index = fields[0].intValue,
                  let remove = fields[1].boolValue, let render = fields[2].boolValue, let hex = fields[3].stringValue,
                  let ids = encodes[index].arrayValue?[3].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed decode record"); continue }
            let cutIDs = ids.map { back[$0] ?? -1 }
            let bytes = LlamaDecodeStream.decode(cutIDs, vocabulary: loaded.vocabulary, removeSpecial: remove, renderSpecial: render)
            let expected = try Hex.decode(hex)
            if bytes != expected {
                failures += 1
                if failures <= 3 {
                    Issue.record("\(name) remove=\(remove) render=\(render): \(String(decoding: bytes, as: UTF8.self).debugDescription), expected \(String(decoding: expected, as: UTF8.self).debugDescription)")
                }
            }
            if !remove {
                // Token by token, the streaming decoder gives the same bytes.
                var stream = loaded.tokenizer.makeStreamingDecoder(skipSpecial: !render)
                var streamed: [UInt8] = []
                for id in cutIDs { streamed += try stream.appendBytes(Int(id)) }
                streamed += stream.finishBytes()
                #expect(streamed == expected, "\(name): streamed decoding differs")
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(records.count) decodings differ")
    }

    /// Special ids, add flags, the end-of-generation set, attributes and pieces as llama.cpp
    /// loads them.
    @Test(arguments: withVectors + withoutVectors)
    func vocabularyMatchesLlamaCpp(_ name: String) throws {
        let loaded = try Self.load(name)
        let info = try #require(loaded.record["info"]?.objectValue)
        let ids = loaded.vocabulary.special
        func mapped(_ id: Int32) -> Int { id >= 0 ? loaded.original[Int(id)] : -1 }
        let fields: [(String, Int32)] = [
            ("bos", ids.bos), ("eos", ids.eos), ("eot", ids.eot), ("sep", ids.sep), ("pad", ids.pad), ("mask", ids.mask),
            ("fim_pre", ids.fimPre), ("fim_suf", ids.fimSuf), ("fim_mid", ids.fimMid), ("fim_pad", ids.fimPad),
            ("fim_rep", ids.fimRep), ("fim_sep", ids.fimSep),
        ]
        for (field, id) in fields {
            #expect(mapped(id) == info[field]?.intValue, "\(name): \(field)")
        }
        #expect(loaded.vocabulary.addBOS == (info["add_bos"]?.intValue == 1), "\(name): add_bos")
        #expect(loaded.vocabulary.addEOS == (info["add_eos"]?.intValue == 1), "\(name): add_eos")
        #expect(loaded.vocabulary.addSEP == (info["add_sep"]?.intValue == 1), "\(name): add_sep")
        let eog = loaded.vocabulary.endOfGeneration.map { loaded.original[Int($0)] }.sorted()
        #expect(eog == (loaded.record["eog"]?.arrayValue?.compactMap(\.intValue) ?? [-1]), "\(name): end-of-generation ids")

        let attributes = try #require(loaded.record["attributes"]?.objectValue)
        var expected: [Int: UInt16] = [:]
        for (key, value) in attributes { expected[Int(key) ?? -1] = UInt16(value.intValue ?? -1) }
        for (cut, original) in loaded.original.enumerated() {
            let attribute = loaded.vocabulary.attributes[cut].rawValue
            #expect(attribute == (expected[original] ?? TokenAttributes.normal.rawValue), "\(name): attributes of token \(original)")
        }
        let pieces = try #require(loaded.record["pieces_hex"]?.objectValue)
        #expect(pieces.count == loaded.original.count)
        for (cut, original) in loaded.original.enumerated() {
            let expected = try Hex.decode(pieces[String(original)]?.stringValue ?? "?")
            #expect(loaded.vocabulary.piece(cut) == expected, "\(name): piece of token \(original)")
        }
    }
}

/// llama.cpp's test vectors: `<vocab>.inp` split at "\n__ggml_vocab_test__\n", `<vocab>.out`
/// with one line of ids per case (test-tokenizer-0.cpp's `read_tests`).
enum TestVectors {
    static func read(_ vocabularyPath: String) throws -> [(String, [Int])] {
        let input = try FileSystem.readFile(vocabularyPath + ".inp")
        let output = String(decoding: try FileSystem.readFile(vocabularyPath + ".out"), as: UTF8.self)
        let separator = Array("\n__ggml_vocab_test__\n".utf8)
        var cases: [String] = []
        var position = 0
        while position < input.count {
            guard let found = input[position...].firstRange(of: separator) else {
                cases.append(String(decoding: input[position...], as: UTF8.self))
                break
            }
            cases.append(String(decoding: input[position..<found.lowerBound], as: UTF8.self))
            position = found.upperBound
        }
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count == cases.count else {
            throw FixtureError.malformed("\(vocabularyPath): \(cases.count) cases but \(lines.count) output lines")
        }
        return try zip(cases, lines).map { text, line in
            let ids = try line.split(separator: " ").map { part -> Int in
                guard let id = Int(part) else { throw FixtureError.malformed("bad id '\(part)'") }
                return id
            }
            return (text, ids)
        }
    }
}

enum FixtureError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self { case .malformed(let reason): "malformed fixture: \(reason)" }
    }
}

enum Hex {
    static func decode(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { throw FixtureError.malformed("odd hex string") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = ByteLevel.hexValue(digits[index]), let low = ByteLevel.hexValue(digits[index + 1]) else {
                throw FixtureError.malformed("bad hex digit")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}

/// The same test vectors on llama.cpp's full vocabularies, where they are on this machine: the
/// llama.cpp tree `make llama-cpp` unpacks into Fixtures/.cache, or ../shared/realdata (three of
/// them). CI has neither; there the cut vocabularies above carry the test.
@Suite struct FullVocabularyTests {
    static func fullVocabulary(_ name: String) -> String? {
        let candidates = [
            Fixture.path(".cache/llama.cpp/models/ggml-vocab-\(name).gguf"),
            PathName.join(PathName.directory(of: Fixture.root), "shared/realdata/ggml-vocab-\(name).gguf"),
        ]
        return candidates.first { FileSystem.isRegularFile($0) && FileSystem.isRegularFile($0 + ".out") }
    }

    static let available = LlamaVocabularyTests.withVectors.filter { fullVocabulary($0) != nil }

    // Skipped (and reported as skipped) when no full vocabulary is on this machine.
    @Test(.enabled(if: !available.isEmpty, "no llama.cpp vocabularies in Fixtures/.cache or ../shared/realdata"),
          arguments: LlamaVocabularyTests.withVectors)
    func testVectorsOnFullVocabulary(_ name: String) throws {
        guard let path = Self.fullVocabulary(name) else {
            withKnownIssue("ggml-vocab-\(name).gguf is not on this machine") { throw FixtureError.malformed("missing") }
            return
        }
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
        let cases = try TestVectors.read(path)
        #expect(!cases.isEmpty)
        var failures = 0
        for (text, expected) in cases {
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name): \(text.debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(cases.count) cases differ")
    }
}
