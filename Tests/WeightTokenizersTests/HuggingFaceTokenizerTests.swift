import Testing
import WeightFormats
@testable import WeightTokenizers

/// tokenizer.json directories (transformers' conversion of the cut llama.cpp vocabularies)
/// against transformers' AutoTokenizer on the same directory.
@Suite struct HuggingFaceTokenizerTests {
    static let names = [
        "command-r", "deepseek-coder", "gemma-4", "gpt-2", "llama-bpe", "llama-spm", "mpt", "phi-3", "qwen2", "baichuan",
        "nomic-bert-moe",
    ]

    @Test(arguments: names)
    func encodingMatchesTransformers(_ name: String) throws {
        let directory = Fixture.path("tokenizers/hf-from-gguf/\(name)")
        let tokenizer = try Tokenizer.load(directory)
        #expect(tokenizer.source == .huggingFace)
        let record = try Fixture.json("tokenizers/hf-from-gguf/\(name)/reference.json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let encodes = try #require(record["encode"]?.arrayValue)
        #expect(!encodes.isEmpty)
        #expect(tokenizer.vocabularySize == (record["largest_id"]?.intValue).map { $0 + 1 })
        var failures = 0
        for entry in encodes {
            guard let fields = entry.arrayValue, fields.count == 4, let index = fields[0].intValue, let add = fields[1].boolValue,
                  let parse = fields[2].boolValue, let expected = fields[3].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed record"); continue }
            let ids = tokenizer.encode(texts[index], addSpecial: add, parseSpecial: parse)
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name) add=\(add) parse=\(parse): \(texts[index].debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(encodes.count) encodings differ")
    }

    @Test(arguments: names)
    func decodingMatchesTransformers(_ name: String) throws {
        let tokenizer = try Tokenizer.load(Fixture.path("tokenizers/hf-from-gguf/\(name)"))
        let record = try Fixture.json("tokenizers/hf-from-gguf/\(name)/reference.json")
        let encodes = try #require(record["encode"]?.arrayValue)
        let decodes = try #require(record["decode"]?.arrayValue)
        #expect(!decodes.isEmpty)
        var failures = 0
        for entry in decodes {
            guard let fields = entry.arrayValue, fields.count == 3, let index = fields[0].intValue, let skip = fields[1].boolValue,
                  let expected = fields[2].stringValue, let ids = encodes[index].arrayValue?[3].arrayValue?.compactMap(\.intValue)
            else { Issue.record("malformed record"); continue }
            let text = try tokenizer.decode(ids, skipSpecial: skip)
            if text != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name) skip=\(skip): \(ids) -> \(text.debugDescription), expected \(expected.debugDescription)") }
            }
            var stream = tokenizer.makeStreamingDecoder(skipSpecial: skip)
            var streamed = ""
            for id in ids { streamed += try stream.append(id) }
            streamed += stream.finish()
            #expect(streamed == expected, "\(name): streamed decoding differs")
        }
        #expect(failures == 0, "\(name): \(failures) of \(decodes.count) decodings differ")
    }
}
