import Foundation
import Testing
import WeightFormats
import WeightTokenizers
@testable import WeightConversion

/// tokenizer.* keys written from tokenizer.json against llama.cpp's convert_hf_to_gguf.py on the
/// same files (Fixtures/tokenizers, generators/tokenizer_metadata.py; the tiny models' own GGUFs).
@Suite struct TokenizerMetadataTests {
    /// Tiny models with a tokenizer directory and llama.cpp's GGUF of them.
    static let cases: [(model: String, tokenizer: String, reference: String)] = [
        ("models/qwen2-tiny", "tokenizers/bpe-qwen2", "tokenizers/bpe-qwen2/llama.cpp.gguf"),
        ("models/llama-tiny", "tokenizers/llama-byte-fallback", "tokenizers/llama-byte-fallback/llama.cpp.gguf"),
        ("models/llama-tiny", "tokenizers/spm-llama-bpe", "tokenizers/spm-llama-bpe/llama.cpp.gguf"),
        ("models/llama-tiny", "tokenizers/spm-llama-unigram", "tokenizers/spm-llama-unigram/llama.cpp.gguf"),
        ("models/qwen2-tiny", "models/qwen2-tiny", "models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"),
        ("models/qwen3-tiny", "models/qwen3-tiny", "models/qwen3-tiny-gguf/qwen3-tiny-f32.gguf"),
        ("models/llama-tiny", "models/llama-tiny", "models/llama-tiny-gguf/llama-tiny-f32.gguf"),
        ("models/qwen3moe-tiny", "models/qwen3moe-tiny", "models/qwen3moe-tiny-gguf/qwen3moe-tiny-f32.gguf"),
    ]

    static func tokenizerKeys(_ file: GGUFFile) -> [String: String] {
        var keys: [String: String] = [:]
        for entry in file.metadata.entries where entry.key.hasPrefix("tokenizer.") {
            keys[entry.key] = ArchitectureDifferences.render(entry.value) + " " + entry.value.typeName
        }
        return keys
    }

    @Test(arguments: cases.indices)
    func keysEqualLlamaCpps(_ index: Int) throws {
        let (model, tokenizer, reference) = Self.cases[index]
        let directory = try temporaryDirectory("tokenizer\(index)")
        defer { removeTree(directory) }
        let source = PathName.join(directory, "model")
        mkdir(source, 0o755)
        for file in ["config.json", "model.safetensors"] {
            symlink(Fixture.path(PathName.join(model, file)), PathName.join(source, file))
        }
        for file in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "tokenizer.model"] {
            let path = Fixture.path(PathName.join(tokenizer, file))
            if FileSystem.isRegularFile(path) { symlink(path, PathName.join(source, file)) }
        }
        let output = PathName.join(directory, "out.gguf")
        var options = ConversionOptions()
        if Self.namedByHash(tokenizer) {
            // A tiny vocabulary's hash is in no table: llama.cpp's converter raises, and so does
            // WeightKit, naming the hash; the references record "default" in its place.
            #expect {
                _ = try Converter.convert(source: source, destination: output)
            } throws: { error in
                guard case ConversionError.unknownPreTokenizer(let file, let hash) = error else { return false }
                return file == PathName.join(source, "tokenizer.json") && hash.count == 64
            }
            #expect(!FileSystem.isRegularFile(output))
            options.preTokenizer = "default"
        }
        _ = try Converter.convert(source: source, destination: output, options: options)
        let ours = Self.tokenizerKeys(try GGUFFile(path: output))
        let theirs = Self.tokenizerKeys(try GGUFFile(path: Fixture.path(reference)))
        #expect(Set(ours.keys) == Set(theirs.keys))
        for (key, value) in theirs {
            #expect(ours[key] == value, "\(key)")
        }
    }

    /// Byte-level BPE and WordPiece tokenizer.json files, whose pre-tokenizer llama.cpp names by hash.
    static func namedByHash(_ tokenizer: String) -> Bool {
        guard let json = try? JSON.parse(FileSystem.readFile(Fixture.path(PathName.join(tokenizer, "tokenizer.json")))) else { return false }
        return json["model"]?["byte_fallback"]?.boolValue != true
    }

    @Test func wordPieceKeysEqualLlamaCpps() throws {
        let directory = Fixture.path("tokenizers/wordpiece-bert")
        let config = try Fixture.json("tokenizers/wordpiece-bert/config.json")
        let size = try #require(config["vocab_size"]?.intValue)
        #expect(throws: ConversionError.self) {
            _ = try TokenizerMetadata.read(directory: directory, modelType: "bert", vocabularySize: size)
        }
        let result = try #require(try TokenizerMetadata.read(directory: directory, modelType: "bert", vocabularySize: size, preTokenizer: "default"))
        let path = PathName.join(try temporaryDirectory(), "bert.gguf")
        let output = try OutputFile(destination: path)
        try output.write(try GGUFWriter.header(metadata: result.metadata, tensors: []).bytes)
        try output.commit()
        let ours = Self.tokenizerKeys(try GGUFFile(path: path))
        let theirs = Self.tokenizerKeys(try GGUFFile(path: Fixture.path("tokenizers/wordpiece-bert/llama.cpp.gguf")))
        #expect(Set(ours.keys) == Set(theirs.keys))
        for (key, value) in theirs {
            #expect(ours[key] == value, "\(key)")
        }
    }

    /// The table is llama.cpp's converter's, as the fixture script read it from its source.
    @Test func hashTableIsTheConverters() throws {
        let record = try Fixture.json("tokenizers/pre-hashes.json")
        #expect(record["check_text"]?.stringValue == PreTokenizerHash.checkText)
        let table = try #require(record["table"]?.arrayValue).map { entry in
            (entry.arrayValue?[0].stringValue ?? "", entry.arrayValue?[1].stringValue ?? "")
        }
        #expect(table.count > 50)
        #expect(table.map(\.0) == PreTokenizerHash.table.map(\.hash))
        #expect(table.map(\.1) == PreTokenizerHash.table.map(\.name))
    }

    /// On llama.cpp's own vocabularies (cut to their test texts, which include the check text), the
    /// Hugging Face files WeightKit writes from the GGUF encode the check text as llama.cpp does on
    /// the GGUF, so the hash, and the name, are what llama.cpp's converter finds on those ids
    /// (`make check-real` converts the full vocabularies back to GGUF).
    @Test(arguments: ["bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gpt-2", "llama-bpe", "mpt",
                      "qwen2", "qwen35", "refact", "starcoder"])
    func preTokenizerPickedByHash(_ name: String) throws {
        let vocabulary = Fixture.path("tokenizers/llama-vocabs/\(name).gguf")
        let gguf = try GGUFFile(path: vocabulary)
        let original = try #require(gguf.metadata.array("weightkit.test.original_token_ids")?.integers())
        let record = try Fixture.json("tokenizers/llama-vocabs/\(name).json")
        let texts = try #require(record["texts"]?.arrayValue).map { $0.stringValue }
        let check = try #require(texts.firstIndex(of: PreTokenizerHash.checkText))
        let entry = try #require(record["encode"]?.arrayValue?.first { entry in
            let fields = entry.arrayValue ?? []
            return fields.count == 4 && fields[0].intValue == check && fields[1].boolValue == true && fields[2].boolValue == true
        })
        let llamaIDs = try #require(entry.arrayValue?[3].arrayValue).compactMap(\.intValue)
        let expected = try #require(PreTokenizerHash.name(checkTextIDs: llamaIDs))
        // WeightKit's Hugging Face form of the cut vocabulary, read back as the converter reads it.
        let directory = PathName.join(try temporaryDirectory("pre-\(name)"), "hf")
        _ = try Converter.convert(source: vocabulary, destination: directory)
        let ids = try Tokenizer.load(directory).encode(PreTokenizerHash.checkText, addSpecial: true, parseSpecial: true)
        #expect(ids.map { original[$0] } == llamaIDs)
        #expect(PreTokenizerHash.name(checkTextIDs: ids.map { original[$0] }) == expected)
    }

    @Test func malformedTokenizerIsATypedError() throws {
        let directory = try temporaryDirectory()
        defer { removeTree(directory) }
        for file in ["config.json", "model.safetensors"] {
            symlink(Fixture.path("models/qwen2-tiny/" + file), PathName.join(directory, file))
        }
        let tokenizer = PathName.join(directory, "tokenizer.json")
        let cases: [(String, String)] = [
            (#"{"model": {"type": "Unigram", "vocab": []}}"#, "Unigram"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 400}}}"#, "400"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}}"#, "merges[0]"),
            (#"{"model": {"type": "BPE"}}"#, "model.vocab"),
        ]
        for (text, mention) in cases {
            let output = try OutputFile(destination: tokenizer, overwrite: true)
            try output.write(text)
            try output.commit()
            let destination = PathName.join(directory, "out.gguf")
            do {
                _ = try Converter.convert(source: directory, destination: destination)
                Issue.record("no error for \(text)")
            } catch let error as ConversionError {
                guard case .invalidTokenizer(let file, let reason) = error else { Issue.record("\(error)"); continue }
                #expect(file == tokenizer)
                #expect(reason.contains(mention), "\(reason)")
            }
            #expect(!FileSystem.isRegularFile(destination))
        }
    }
}

private func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

#if canImport(Glibc)
import Glibc
#endif
