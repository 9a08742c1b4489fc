import Foundation
import Testing
import WeightFormats

/// Gemma through the command line: convert, then run WeightKit's own GGUF; the refusal of what
/// llama.cpp's GGUF cannot hold as one line on stderr.
@Suite struct GemmaCommandTests {
    @Test("convert then run WeightKit's f32 GGUF: transformers' logits within 1e-4 and its greedy tokens",
          arguments: ["gemma2-tiny", "gemma3-tiny"])
    func convertAndRun(model: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reference = try CLI.json("models/\(model)/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap(\.intValue).map(String.init).joined(separator: ",")
        let gguf = directory + "/\(model).gguf", logits = directory + "/logits.npy"
        let converted = try CLI.run(["convert", CLI.fixture("models/\(model)"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let run = try CLI.run(["run", gguf, "--tokens", prompt, "--generate", "8", "--ignore-eos", "--logits", logits, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["tokens"] == reference["greedy"])
        // Gemma 3's GGUF has the tokenizer's rows only: the first columns of transformers' logits.
        let written = try NPY.read(logits), expected = try NPY.read(CLI.fixture("models/\(model)/logits.npy"))
        let rows = expected.shape[0], columns = written.shape[1], vocabulary = expected.shape[1]
        #expect(written.shape[0] == rows && (columns == vocabulary || columns == reference["gguf_vocab_size"]?.intValue))
        var difference = 0.0, norm = 0.0
        for row in 0..<rows {
            for column in 0..<columns {
                let a = Double(written.values[row * columns + column]), b = Double(expected.values[row * vocabulary + column])
                difference += (a - b) * (a - b)
                norm += b * b
            }
        }
        #expect((difference / norm).squareRoot() <= 1e-4)
    }

    @Test("a query_pre_attn_scalar llama.cpp does not derive: one line naming the key and both values, no destination")
    func refusal() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = directory + "/gemma2-tiny"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: source + "/model.safetensors",
                                                   withDestinationPath: CLI.fixture("models/gemma2-tiny/model.safetensors"))
        var config = try #require(try CLI.json("models/gemma2-tiny/config.json").objectValue)
        config["query_pre_attn_scalar"] = .int(144)
        try JSONWriter.string(.object(config)).write(toFile: source + "/config.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["convert", source, directory + "/out.gguf", "--tokenizer-pre", "default"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("query_pre_attn_scalar") && result.stderr.contains("144") && result.stderr.contains("16"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/out.gguf"))
        // transformers runs it: the Hugging Face directory still runs.
        let run = try CLI.run(["run", source, "--tokens", "1,2,3", "--generate", "2", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
    }
}
