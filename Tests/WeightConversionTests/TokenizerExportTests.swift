import Testing
import WeightConversion
import WeightFormats
import WeightTokenizers

/// GGUF -> Hugging Face tokenizer files: the tokenizer.json WeightKit writes for llama.cpp's
/// vocabularies (cut to the test texts, Fixtures/generators/tokenizers.py), read back by the
/// tokenizer.json path (which reproduces the `tokenizers` library), encodes every recorded text
/// as llama.cpp does on the GGUF, with and without add_special / parse_special.
@Suite struct TokenizerExportTests {
    /// Byte-level BPE, SentencePiece and WordPiece vocabularies with llama.cpp's test vectors.
    static let exported = [
        "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2", "llama-bpe", "llama-spm", "mpt",
        "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ]

    /// WordPiece: llama.cpp's normaliser is not BERT's on some scripts outside its test vectors
    /// (it drops the medial and final jamo of a decomposed Hangul syllable, which BERT's keeps
    /// and then cannot match), so only the test-vector cases are compared there.
    static let testVectorsOnly: Set<String> = ["bert-bge"]

    static func convert(_ name: String) throws -> (directory: String, report: ConversionReport) {
        let directory = PathName.join(try temporaryDirectory("export-\(name)"), "hf")
        let report = try Converter.convert(source: Fixture.path("tokenizers/llama-vocabs/\(name).gguf"), destination: directory)
        return (directory, report)
    }

    @Test(arguments: exported)
    func exportedTokenizerEncodesAsLlamaCpp(_ name: String) throws {
        let (directory, _) = try Self.convert(name)
        let gguf = try GGUFFile(path: Fixture.path("tokenizers/llama-vocabs/\(name).gguf"))
        let original = try #require(gguf.metadata.array("weightkit.test.original_token_ids")?.integers())
        let tokenizer = try Tokenizer.load(directory)
        #expect(tokenizer.source == .huggingFace)
        let record = try Fixture.json("tokenizers/llama-vocabs/\(name).json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue ?? "" }
        let encodes = try #require(record["encode"]?.arrayValue)
        #expect(!encodes.isEmpty)
        let caseCount = try #require(record["cases"]?.intValue)
        var failures = 0
        for entry in encodes {
            let fields = try #require(entry.arrayValue)
            let index = try #require(fields[0].intValue), add = try #require(fields[1].boolValue)
            if Self.testVectorsOnly.contains(name) && index >= caseCount { continue }
            let parse = try #require(fields[2].boolValue)
            let expected = try #require(fields[3].arrayValue).compactMap(\.intValue)
            let ids = tokenizer.encode(texts[index], addSpecial: add, parseSpecial: parse).map { original[$0] }
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name) add=\(add) parse=\(parse): \(texts[index].debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(encodes.count) encodings differ")
    }

    @Test func filesWrittenForAVocabularyOnlyGGUF() throws {
        let (directory, report) = try Self.convert("qwen2")
        for file in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] {
            #expect(FileSystem.isRegularFile(PathName.join(directory, file)), "\(file)")
            #expect(report.outputs.contains { PathName.lastComponent(of: $0) == file }, "\(file) reported")
        }
        #expect(!FileSystem.isRegularFile(PathName.join(directory, "model.safetensors")))
        let gguf = try GGUFFile(path: Fixture.path("tokenizers/llama-vocabs/qwen2.gguf"))
        let loaded = try Tokenizer(gguf: gguf)
        let generation = try JSON.parse(FileSystem.readFile(PathName.join(directory, "generation_config.json")))
        let eos = generation["eos_token_id"]
        let stops = eos?.arrayValue?.compactMap(\.intValue) ?? eos?.intValue.map { [$0] }
        #expect(Set(try #require(stops)) == Set(loaded.endOfGeneration + [loaded.specialTokens.eos].compactMap { $0 }))
    }

    @Test func unigramVocabularyIsANoteNotAWrongFile() throws {
        let (directory, report) = try Self.convert("nomic-bert-moe")
        #expect(!FileSystem.isRegularFile(PathName.join(directory, "tokenizer.json")))
        #expect(report.notes.contains { $0.contains("'t5'") })
    }

    @Test func modelCardCarriesGeneralKeysUnderGGUFPyNames() throws {
        var list = GGUFMetadataList()
        list["general.name"] = .string("Tiny \"Model\"")
        list["general.license"] = .string("apache-2.0")
        list["general.tags"] = .array(elementType: .string, elements: [.string("text-generation")])
        let path = PathName.join(try temporaryDirectory(), "card.gguf")
        let output = try OutputFile(destination: path)
        try output.write(try GGUFWriter.header(metadata: list, tensors: []).bytes)
        try output.commit()
        let gguf = try GGUFFile(path: path)
        let card = try #require(ModelCard.text(metadata: gguf.metadata))
        #expect(card.hasPrefix("---\nmodel_name: \"Tiny \\\"Model\\\"\"\nlicense: \"apache-2.0\"\ntags:\n- \"text-generation\"\n---\n"))
    }
}
