import Testing
import WeightConversion
import WeightFormats
import WeightTokenizers

/// GGUF -> Hugging Face tokenizer files: the tokenizer.json WeightKit writes for llama.cpp's
/// vocabularies (cut to the test texts, Fixtures/generators/tokenizers.py), read back by the
/// tokenizer.json path (which reproduces the `tokenizers` library), encodes every recorded text
/// as llama.cpp does on the GGUF, with and without add_special / parse_special.
@Suite struct TokenizerExportTests {
    /// Byte-level BPE, Gemma 4's BPE, SentencePiece, WordPiece and UGM vocabularies (llama.cpp's
    /// ids on the test vectors, or on the llama-bpe cases and random text for aquila, baichuan,
    /// gpt-neox and nomic-bert-moe, which have none).
    static let exported = [
        "aquila", "baichuan", "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2",
        "gpt-neox", "llama-bpe", "llama-spm", "mpt", "nomic-bert-moe", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ]

    /// WordPiece: llama.cpp's normaliser is not BERT's on some scripts outside its test vectors
    /// (it drops the medial and final jamo of a decomposed Hangul syllable, which BERT's keeps
    /// and then cannot match), so only the test-vector cases are compared there.
    static let testVectorsOnly: Set<String> = ["bert-bge"]

    /// Unigram: the `tokenizers` library's Viterbi has every vocabulary entry as a candidate,
    /// control tokens included, while llama.cpp's UGM leaves control tokens out of its trie. So
    /// with special tokens not parsed, a text that spells a control token (`<s>`) can come out as
    /// that token. transformers always parses special tokens (unless split_special_tokens), so
    /// AutoTokenizer is not affected; those cases are left out here.
    static let controlTextsAsPieces: Set<String> = ["nomic-bert-moe"]

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
        let tokenTexts = try #require(gguf.metadata.array("tokenizer.ggml.tokens")?.strings())
        let tokenTypes = try #require(gguf.metadata.array("tokenizer.ggml.token_type")?.integers())
        let controlTexts = zip(tokenTexts, tokenTypes).filter { $0.1 == 3 && !$0.0.isEmpty }.map(\.0)
        var failures = 0, leftOut = 0
        for entry in encodes {
            let fields = try #require(entry.arrayValue)
            let index = try #require(fields[0].intValue), add = try #require(fields[1].boolValue)
            if Self.testVectorsOnly.contains(name) && index >= caseCount { continue }
            let parse = try #require(fields[2].boolValue)
            if Self.controlTextsAsPieces.contains(name) && !parse && controlTexts.contains(where: texts[index].contains) {
                leftOut += 1
                continue
            }
            let expected = try #require(fields[3].arrayValue).compactMap(\.intValue)
            let ids = tokenizer.encode(texts[index], addSpecial: add, parseSpecial: parse).map { original[$0] }
            if ids != expected {
                failures += 1
                if failures <= 3 { Issue.record("\(name) add=\(add) parse=\(parse): \(texts[index].debugDescription) -> \(ids), expected \(expected)") }
            }
        }
        #expect(failures == 0, "\(name): \(failures) of \(encodes.count) encodings differ")
        #expect(leftOut * 10 < encodes.count, "\(name): \(leftOut) of \(encodes.count) left out")
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

    /// A pre-tokenizer without a tokenizer.json form (llama.cpp's `whitespace`: raw UTF-8 BPE
    /// over `\S+` pieces, spaces not escaped) is a note naming the model, not a wrong file.
    @Test func unwritableVocabularyIsANoteNotAWrongFile() throws {
        var list = GGUFMetadataList()
        list["tokenizer.ggml.model"] = .string("gpt2")
        list["tokenizer.ggml.pre"] = .string("whitespace")
        list["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: ["a", "b", "ab"].map { .string($0) })
        list["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: [1, 1, 1].map { .int32($0) })
        list["tokenizer.ggml.merges"] = .array(elementType: .string, elements: [.string("a b")])
        let source = PathName.join(try temporaryDirectory(), "whitespace.gguf")
        let output = try OutputFile(destination: source)
        try output.write(try GGUFWriter.header(metadata: list, tensors: []).bytes)
        try output.commit()
        let directory = PathName.join(try temporaryDirectory("export-whitespace"), "hf")
        let report = try Converter.convert(source: source, destination: directory)
        #expect(!FileSystem.isRegularFile(PathName.join(directory, "tokenizer.json")))
        #expect(report.notes.contains { $0.contains("'gpt2'") && $0.contains("no tokenizer.json form") })
        #expect(throws: TokenizerError.self) { try HuggingFaceTokenizerExport.make(gguf: try GGUFFile(path: source)) }
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

    /// HF -> GGUF reads the files back as llama.cpp's converter reads them: the tokens, their
    /// types, the merges and the special ids of llama.cpp's byte-level BPE and WordPiece test
    /// vocabularies come back as the GGUF has them (the name of the pre-tokenizer is given: the
    /// hash of a cut vocabulary's ids is in no table).
    @Test(arguments: ["bert-bge", "gpt-2", "llama-bpe", "qwen2", "starcoder", "deepseek-coder"])
    func readBackAsTheConverterReadsIt(_ name: String) throws {
        let (directory, _) = try Self.convert(name)
        let gguf = try GGUFFile(path: Fixture.path("tokenizers/llama-vocabs/\(name).gguf"))
        let tokens = try #require(gguf.metadata.array("tokenizer.ggml.tokens")?.strings())
        let model = try #require(gguf.metadata.string("tokenizer.ggml.model"))
        let result = try #require(try TokenizerMetadata.read(
            directory: directory, modelType: model == "bert" ? "bert" : "qwen2", vocabularySize: tokens.count, preTokenizer: "test"))
        let back = result.metadata
        #expect(back["tokenizer.ggml.model"]?.stringValue == model)
        #expect(back["tokenizer.ggml.pre"]?.stringValue == "test")
        let backTokens = try #require(back["tokenizer.ggml.tokens"]?.arrayStrings)
        let types = try #require(gguf.metadata.array("tokenizer.ggml.token_type")?.integers())
        let backTypes = try #require(back["tokenizer.ggml.token_type"]?.arrayIntegers)
        #expect(backTokens.count == tokens.count)
        // llama.cpp makes special, end-of-generation and FIM tokens CONTROL whatever their type
        // (its attributes, recorded from llama.cpp); the export writes them as special tokens,
        // so they come back CONTROL.
        let original = try #require(gguf.metadata.array("weightkit.test.original_token_ids")?.integers())
        let attributes = try #require(try Fixture.json("tokenizers/llama-vocabs/\(name).json")["attributes"]?.objectValue)
        // And the converter's does_token_look_special makes user-defined `<pad>`, `<|...|>`,
        // `<｜...｜>`, `<unused...>` CONTROL ("command-r, deepseek-coder" in its comment); these
        // GGUFs predate that rule.
        func looksSpecial(_ text: String) -> Bool {
            ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text) || (text.hasPrefix("<|") && text.hasSuffix("|>"))
                || (text.hasPrefix("<\u{FF5C}") && text.hasSuffix("\u{FF5C}>")) || (text.hasPrefix("<unused") && text.hasSuffix(">"))
        }
        func expectedType(_ id: Int) -> Int {
            let attribute = attributes[String(original[id])]?.intValue ?? 0
            if attribute & (1 << 3) != 0 { return 3 }
            return types[id] == 4 && looksSpecial(tokens[id]) ? 3 : types[id]
        }
        var differences = 0
        for id in tokens.indices where types[id] != 5 {  // UNUSED [PADn] tokens are not written
            // This BERT GGUF predates the converter's phantom-space rule for `[...]` vocabulary
            // entries (it wrote `[unused0]` where the converter now writes `▁[unused0]`).
            if model == "bert", types[id] == 1, tokens[id].hasPrefix("["), backTokens[id] == "\u{2581}" + tokens[id] { continue }
            if backTokens[id] != tokens[id] || backTypes[id] != expectedType(id) {
                differences += 1
                if differences <= 3 { Issue.record("\(name) token \(id): \(backTokens[id].debugDescription) \(backTypes[id]), expected \(tokens[id].debugDescription) \(expectedType(id))") }
            }
        }
        #expect(differences == 0)
        #expect(back["tokenizer.ggml.merges"]?.arrayStrings == gguf.metadata.array("tokenizer.ggml.merges")?.strings())
        for key in ["bos_token_id", "eos_token_id", "padding_token_id", "unknown_token_id", "seperator_token_id"] {
            guard let expected = gguf.metadata.int("tokenizer.ggml.\(key)") else { continue }
            #expect(back["tokenizer.ggml.\(key)"]?.intValue == expected, "\(name) \(key)")
        }
    }
}


private extension GGUFMetadataValue {
    var arrayElements: [GGUFMetadataValue]? {
        if case .array(_, let elements) = self { return elements }
        return nil
    }
    var arrayStrings: [String]? { arrayElements.map { $0.compactMap(\.stringValue) } }
    var arrayIntegers: [Int]? { arrayElements.map { $0.compactMap(\.intValue) } }
}

/// Token texts that Swift's `String ==` calls equal (canonical equivalence) are different tokens
/// to llama.cpp and the `tokenizers` library: Gemma 4's vocabulary has both "য়" (U+09DF) and
/// "য়" (U+09AF U+09BC), and its tokenizer.json failed to load in transformers when the second
/// replaced the first ("Token `য়` out of vocabulary" in the merges).
@Suite struct ExactTokenTextTests {
    static let composed = "\u{09DF}", decomposed = "\u{09AF}\u{09BC}"

    @Test func jsonObjectKeepsCanonicallyEquivalentKeysApart() throws {
        let object = JSONObject([(Self.composed, .int(1)), (Self.decomposed, .int(2))])
        #expect(object.members.count == 2)
        #expect(object[Self.composed]?.intValue == 1)
        #expect(object[Self.decomposed]?.intValue == 2)
        let parsed = try JSON.parse(JSONWriter.string(.object(object)))
        #expect(parsed[Self.composed]?.intValue == 1)
        #expect(parsed[Self.decomposed]?.intValue == 2)
    }

    @Test func exportWritesBothTokens() throws {
        var list = GGUFMetadataList()
        let tokens = ["<unk>", "<s>", "</s>", Self.composed, Self.decomposed, "a"]
        list["tokenizer.ggml.model"] = .string("llama")
        list["tokenizer.ggml.tokens"] = .array(elementType: .string, elements: tokens.map { .string($0) })
        list["tokenizer.ggml.scores"] = .array(elementType: .float32, elements: tokens.indices.map { .float32(-Float($0)) })
        list["tokenizer.ggml.token_type"] = .array(elementType: .int32, elements: [2, 3, 3, 1, 1, 1].map { .int32($0) })
        let source = PathName.join(try temporaryDirectory(), "equivalent.gguf")
        let output = try OutputFile(destination: source)
        try output.write(try GGUFWriter.header(metadata: list, tensors: []).bytes)
        try output.commit()
        let export = try HuggingFaceTokenizerExport.make(gguf: try GGUFFile(path: source))
        let json = try JSON.parse(try #require(export.files.first { $0.name == "tokenizer.json" }).text)
        let vocab = try #require(json["model"]?["vocab"]?.objectValue)
        #expect(vocab[Self.composed]?.intValue == 3)
        #expect(vocab[Self.decomposed]?.intValue == 4)
        #expect(vocab.members.count == tokens.count)
    }
}
