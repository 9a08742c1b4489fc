import Foundation
import Testing
import WeightFormats
@testable import WeightConversion

/// tokenizer.* keys written from tokenizer.json against llama.cpp's convert_hf_to_gguf.py on the
/// same files (Fixtures/tokenizers, generators/tokenizer_metadata.py; the tiny models' own GGUFs).
@Suite struct TokenizerMetadataTests {
    /// Tiny models with a tokenizer directory and llama.cpp's GGUF of them.
    static let cases: [(model: String, tokenizer: String, reference: String)] = [
        ("models/qwen2-tiny", "tokenizers/bpe-qwen2", "tokenizers/bpe-qwen2/llama.cpp.gguf"),
        ("models/llama-tiny", "tokenizers/llama-byte-fallback", "tokenizers/llama-byte-fallback/llama.cpp.gguf"),
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
        for file in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            let path = Fixture.path(PathName.join(tokenizer, file))
            if FileSystem.isRegularFile(path) { symlink(path, PathName.join(source, file)) }
        }
        let output = PathName.join(directory, "out.gguf")
        _ = try Converter.convert(source: source, destination: output)
        var ours = Self.tokenizerKeys(try GGUFFile(path: output))
        var theirs = Self.tokenizerKeys(try GGUFFile(path: Fixture.path(reference)))
        #expect(Set(ours.keys) == Set(theirs.keys))
        // llama.cpp names a pre-tokenizer by hashing a whole vocabulary's tokenization, which a
        // tiny vocabulary cannot match (it records "default"); WeightKit's name comes from the
        // pre-tokenizer's description, checked against llama.cpp's hashes in preTokenizerNames.
        let json = try JSON.parse(FileSystem.readFile(Fixture.path(PathName.join(tokenizer, "tokenizer.json"))))
        let expectedPre = PreTokenizerName.name(for: json["model"]?["byte_fallback"]?.boolValue == true ? nil : json["pre_tokenizer"]) ?? "default"
        #expect(ours.removeValue(forKey: "tokenizer.ggml.pre") == "\"\(expectedPre)\" STRING")
        theirs.removeValue(forKey: "tokenizer.ggml.pre")
        for (key, value) in theirs {
            #expect(ours[key] == value, "\(key)")
        }
    }

    @Test func preTokenizerNames() throws {
        let cases = try Fixture.json("tokenizers/pre-names.json").arrayValue!
        #expect(cases.count >= 3)
        for entry in cases {
            let expected = entry["llama_cpp_pre"]?.stringValue
            #expect(expected != nil, "llama.cpp did not recognise \(entry["vocabulary"]!)")
            #expect(PreTokenizerName.name(for: entry["pre_tokenizer"]) == expected)
        }
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
