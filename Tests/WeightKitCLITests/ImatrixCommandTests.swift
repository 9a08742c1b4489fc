import Foundation
import Testing
import WeightFormats

/// `weightkit imatrix` against llama-imatrix on the same chunks (Fixtures/core/imatrix, by
/// imatrix_reference.py): the quant_mixes models as f16 (read from the committed .zst) and as
/// the f32 GGUF llama-quantize writes from it (made here by `weightkit quantize ... F32`, whose
/// sha256 must be llama-quantize's), ctx 64, at most 5 chunks of text.txt.
@Suite struct ImatrixCommandTests {
    static let directory = "core/imatrix/"
    static let text = CLI.fixture(directory + "text.txt")

    static func reference() throws -> JSONValue { try CLI.json(directory + "reference.json") }

    static func source(_ model: String) -> String { CLI.fixture("core/quant_mixes/\(model)-f16.gguf.zst") }

    /// The f32 GGUF of `model` in `directory`, checked to be llama-quantize's file.
    static func float32Model(_ model: String, in directory: String) throws -> String {
        let path = directory + "/\(model)-f32.gguf"
        let result = try CLI.run(["quantize", source(model), path, "F32", "--quiet"])
        try #require(result.status == 0, "\(result.stderr)")
        let expected = try #require(try reference()["models"]?[model]?["f32_sha256"]?.stringValue)
        try #require(try QuantizeCommandTests.sha256(path) == expected, "the f32 input is not llama-quantize's")
        return path
    }

    /// Compares an imatrix file with llama-imatrix's: the same tensors in the same order and
    /// shapes, equal counts, sums within `tolerance` relative, the same chunk metadata.
    static func compare(_ path: String, with referenceName: String, tolerance: Float, dataset: String) throws {
        let ours = try GGUFFile(path: path)
        let theirs = try GGUFFile(path: CLI.fixture(directory + referenceName))
        let recorded = try #require(try reference()["files"]?[referenceName])
        // The reference as gguf-py reads it.
        let recordedTensors = try #require(recorded["tensors"]?.arrayValue)
        #expect(theirs.tensorInfos.map(\.name) == recordedTensors.compactMap { $0["name"]?.stringValue })
        #expect(ours.tensorInfos.map(\.name) == theirs.tensorInfos.map(\.name))
        #expect(ours.tensorInfos.map(\.dimensions) == theirs.tensorInfos.map(\.dimensions))
        #expect(ours.tensorInfos.allSatisfy { $0.type == .f32 })
        #expect(ours.metadata.string("general.type") == "imatrix")
        #expect(ours.metadata.int("imatrix.chunk_count") == recorded["metadata"]?["imatrix.chunk_count"]?.intValue)
        #expect(ours.metadata.int("imatrix.chunk_size") == recorded["metadata"]?["imatrix.chunk_size"]?.intValue)
        #expect(ours.metadata.array("imatrix.datasets")?.strings() == [dataset])
        #expect(ours.metadata.entries.map(\.key) == recorded["metadata"]?["keys"]?.arrayValue?.compactMap(\.stringValue))
        let theirViews = Dictionary(uniqueKeysWithValues: theirs.tensorViews().map { ($0.name, $0) })
        var worst: Float = 0
        for (index, view) in ours.tensorViews().enumerated() {
            let mine = try view.floats(), reference = try #require(theirViews[view.name]).floats()
            try #require(mine.count == reference.count, "\(view.name)")
            if view.name.hasSuffix(".counts") {
                #expect(mine == reference, "\(view.name)")
                #expect(reference.map(Double.init) == recordedTensors[index]["values"]?.arrayValue?.compactMap(\.doubleValue), "\(view.name)")
                continue
            }
            for (a, b) in zip(mine, reference) {
                let relative = abs(a - b) / max(abs(b), .leastNormalMagnitude)
                worst = max(worst, relative)
            }
        }
        #expect(worst <= tolerance, "\(path): largest relative difference \(worst)")
    }

    @Test(arguments: ["llama-gqa", "qwen3moe-8x", "qwen2-bias"])
    func matchesLlamaImatrixOnFloat32AndFloat16(model: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let f32 = try Self.float32Model(model, in: directory)
        for (input, dtype, tolerance) in [(f32, "f32", Float(1e-4)), (Self.source(model), "f16", Float(5e-3))] {
            let out = directory + "/\(dtype).imatrix.gguf"
            let result = try CLI.run(["imatrix", input, "--text-file", Self.text, "--out", out, "--ctx", "64", "--chunks", "5"])
            #expect(result.status == 0, "\(result.stderr)")
            let tokens = try #require(try Self.reference()["models"]?[model]?["text_tokens"]?.intValue)
            #expect(result.stderr.hasSuffix(": 56 entries, 5 chunks of 64 tokens (\(tokens) tokens in the input)\n") || model != "llama-gqa",
                    "\(result.stderr)")
            #expect(result.stderr.contains("5 chunks of 64 tokens (\(tokens) tokens in the input)"), "\(result.stderr)")
            try Self.compare(out, with: "\(model)-\(dtype).imatrix.gguf", tolerance: tolerance, dataset: Self.text)
        }
    }

    @Test func processOutputAndChunksFromTheTokenCount() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let f32 = try Self.float32Model("llama-gqa", in: directory)
        let output = directory + "/output.gguf"
        #expect(try CLI.run(["imatrix", f32, "--text-file", Self.text, "--out", output, "--ctx", "64", "--chunks", "5",
                             "--process-output", "--quiet"]).status == 0)
        try Self.compare(output, with: "llama-gqa-f32-output.imatrix.gguf", tolerance: 1e-4, dataset: Self.text)
        #expect(try GGUFFile(path: output).tensorInfos.contains { $0.name == "output.weight.in_sum2" })
        // Without --chunks: floor(tokens / ctx) chunks.
        let short = directory + "/short.gguf", shortText = CLI.fixture(Self.directory + "short.txt")
        #expect(try CLI.run(["imatrix", f32, "--text-file", shortText, "--out", short, "--ctx", "64", "--quiet"]).status == 0)
        try Self.compare(short, with: "llama-gqa-f32-short.imatrix.gguf", tolerance: 1e-4, dataset: shortText)
        let tokens = try #require(try Self.reference()["models"]?["llama-gqa"]?["short_tokens"]?.intValue)
        #expect(try GGUFFile(path: short).metadata.int("imatrix.chunk_count") == tokens / 64)
    }

    @Test func tokensFileGivesTheSameMatrixAndQuantizeTakesIt() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fromText = directory + "/text.gguf", fromTokens = directory + "/tokens.gguf"
        let tokensFile = CLI.fixture(Self.directory + "tokens.txt")
        #expect(try CLI.run(["imatrix", Self.source("llama-gqa"), "--text-file", Self.text, "--out", fromText, "--ctx", "64", "--chunks", "5", "--quiet"]).status == 0)
        let result = try CLI.run(["imatrix", Self.source("llama-gqa"), "--tokens-file", tokensFile, "--out", fromTokens, "--ctx", "64", "--chunks", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        let a = try GGUFFile(path: fromText), b = try GGUFFile(path: fromTokens)
        #expect(b.metadata.array("imatrix.datasets")?.strings() == [tokensFile])
        #expect(a.tensorInfos.map(\.name) == b.tensorInfos.map(\.name))
        for (x, y) in zip(a.tensorViews(), b.tensorViews()) { #expect(try x.floats() == y.floats(), "\(x.name)") }
        // The matrix drives an IQ2_XS quantisation like llama-imatrix's does.
        let quantized = directory + "/iq2.gguf"
        let quantize = try CLI.run(["quantize", "--imatrix", fromText, Self.source("llama-gqa"), quantized, "IQ2_XS", "--quiet"])
        #expect(quantize.status == 0, "\(quantize.stderr)")
        #expect(try GGUFFile(path: quantized).metadata.int("quantize.imatrix.entries_count") == 56)
    }

    @Test func badInputIsAClearErrorAndWritesNothing() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out.gguf", model = Self.source("llama-gqa")
        func failure(_ arguments: [String], _ message: String) throws {
            let result = try CLI.run(["imatrix"] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1 || result.stderr.contains("Usage"), "\(result.stderr)")
        }
        try failure([model, "--text-file", Self.text, "--out", out, "--ctx", "4096"], "needs at least 8192")
        try failure([model, "--out", out], "exactly one of --text-file and --tokens-file")
        try failure([model, "--text-file", Self.text, "--tokens-file", Self.text, "--out", out], "exactly one of")
        try failure([model, "--text-file", Self.text, "--out", out, "--ctx", "8"], "at least 16")
        try failure([model, "--text-file", Self.text, "--out", out, "--chunks", "0"], "--chunks")
        let malformed = directory + "/ids.txt"
        try "1, 2,, 3".write(toFile: malformed, atomically: true, encoding: .utf8)
        try failure([model, "--tokens-file", malformed, "--out", out], "empty field at byte offset 5")
        try "1 2 x".write(toFile: malformed, atomically: true, encoding: .utf8)
        try failure([model, "--tokens-file", malformed, "--out", out], "unexpected byte 0x78 at offset 4")
        let outside = directory + "/outside.txt"
        try (["999999"] + Array(repeating: "5", count: 200)).joined(separator: " ").write(toFile: outside, atomically: true, encoding: .utf8)
        try failure([model, "--tokens-file", outside, "--out", out, "--ctx", "64"], "outside the vocabulary")
        try failure([CLI.fixture("models/llama-tiny"), "--text-file", Self.text, "--out", out, "--ctx", "64"], "GGUF")
        try failure([model, "--text-file", Self.text, "--out", model, "--ctx", "64", "--force"], "input")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["ids.txt", "outside.txt"])
        // An existing output: refused without --force, replaced with it.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        try failure([model, "--text-file", Self.text, "--out", out, "--ctx", "64"], "already exists")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep")
        #expect(try CLI.run(["imatrix", model, "--text-file", Self.text, "--out", out, "--ctx", "64", "--chunks", "2", "--force", "--quiet"]).status == 0)
        #expect(try GGUFFile(path: out).metadata.int("imatrix.chunk_count") == 2)
    }
}
