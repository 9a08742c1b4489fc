import Foundation
import Testing
import WeightFormats

/// `weightkit quantize` (and `convert --type MIX`) as a user runs them, against the files
/// llama-quantize wrote for the same inputs (Fixtures/core/quant_mixes, by quant_mixes.py).
@Suite struct QuantizeCommandTests {
    static let mixes = "core/quant_mixes/"
    static let llama = CLI.fixture(Self.mixes + "llama-gqa-f16.gguf.zst")

    static func recorded(_ model: String, _ label: String) throws -> JSONValue {
        try #require(try CLI.json(Self.mixes + "mixes.json")["models"]?[model]?["mixes"]?[label])
    }

    static func sha256(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return String(text.prefix(64))
    }

    @Test func writesLlamaQuantizesFile() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/out.gguf"
        let result = try CLI.run(["quantize", Self.llama, output, "q4_k_m", "2", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(try Self.sha256(output) == Self.recorded("llama-gqa", "Q4_K_M")["file_sha256"]?.stringValue)
        // Q4_K is llama-quantize's alias for Q4_K_M; 15 is its number.
        let alias = directory + "/alias.gguf"
        #expect(try CLI.run(["quantize", Self.llama, alias, "Q4_K", "--quiet"]).status == 0)
        #expect(try Self.sha256(alias) == Self.sha256(output))
        let number = directory + "/number.gguf"
        #expect(try CLI.run(["quantize", Self.llama, number, "15", "--quiet"]).status == 0)
        #expect(try Self.sha256(number) == Self.sha256(output))
    }

    @Test func withImportanceMatrix() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/out.gguf"
        let matrix = CLI.fixture(Self.mixes + "llama-gqa.imatrix.gguf")
        let result = try CLI.run(["quantize", "--imatrix", matrix, Self.llama, output, "IQ2_XS", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try GGUFFile(path: output)
        let recorded = try #require(try Self.recorded("llama-gqa", "IQ2_XS+imatrix")["tensors"]?.arrayValue).compactMap(\.stringValue)
        #expect(written.tensorInfos.map { $0.type.name } == recorded.map { String($0.prefix { $0 != ":" }) })
        #expect(written.metadata.string("quantize.imatrix.file") == matrix)
        #expect(written.metadata.int("quantize.imatrix.entries_count") == 56)
        #expect(written.metadata["quantize.imatrix.chunks_count"]?.type == .uint32)
    }

    @Test func dryRunTableAndJSON() throws {
        let result = try CLI.run(["quantize", "--dry-run", "--json", Self.llama, "IQ2_XS"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json.objectValue?.keys == ["type", "tensors", "bytes_in", "bytes_out", "bits_per_weight", "fallbacks", "requires_imatrix"])
        #expect(json["type"]?.stringValue == "IQ2_XS")
        #expect(json["requires_imatrix"]?.boolValue == true)
        let tensors = try #require(json["tensors"]?.arrayValue)
        #expect(tensors.first?.objectValue?.keys == ["name", "shape", "from", "to", "bytes"])
        let reference = try #require(try Self.recorded("llama-gqa", "IQ2_XS+imatrix")["tensors"]?.arrayValue).compactMap(\.stringValue)
        // Without an imatrix the IQ2_XS choices are the same as with one.
        #expect(tensors.compactMap { $0["to"]?.stringValue } == reference.map { String($0.prefix { $0 != ":" }) })
        let table = try CLI.run(["quantize", "--dry-run", Self.llama, "Q4_K_M"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("blk.0.ffn_down.weight"))
        #expect(table.stdout.contains("Q8_0"))
        #expect(table.stdout.contains("(fallback)"))
    }

    @Test func badInputIsAClearErrorAndWritesNothing() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/out.gguf"
        let unknown = try CLI.run(["quantize", Self.llama, output, "q4_km"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown TYPE 'q4_km'") && unknown.stderr.contains("did you mean"))
        let needsMatrix = try CLI.run(["quantize", Self.llama, output, "IQ2_XS"])
        #expect(needsMatrix.status == 1)
        #expect(needsMatrix.stderr.contains("importance matrix"), "\(needsMatrix.stderr)")
        let otherModel = try CLI.run(["quantize", "--imatrix", CLI.fixture(Self.mixes + "qwen2-bias.imatrix.gguf"), Self.llama, output, "IQ2_XS"])
        #expect(otherModel.status == 1)
        #expect(otherModel.stderr.contains("another model"), "\(otherModel.stderr)")
        let pattern = try CLI.run(["quantize", "--tensor-type", "attn_(q=q8_0", Self.llama, output, "Q4_K_M"])
        #expect(pattern.status == 1)
        #expect(pattern.stderr.contains("not a valid regular expression"))
        for refused in [["--keep-split"], ["--override-kv", "a=int:1"], ["--prune-layers", "1"]] {
            let result = try CLI.run(["quantize"] + refused + [Self.llama, output, "Q4_K_M"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("not supported"), "\(refused)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        // An existing output: refused without --force, replaced with it.
        #expect(try CLI.run(["quantize", Self.llama, output, "Q8_0", "--quiet"]).status == 0)
        let again = try CLI.run(["quantize", Self.llama, output, "Q8_0"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("already exists"))
        #expect(try CLI.run(["quantize", Self.llama, output, "Q6_K", "--force", "--quiet"]).status == 0)
        #expect(try Self.sha256(output) == Self.recorded("llama-gqa", "Q6_K")["file_sha256"]?.stringValue)
    }

    @Test func huggingFaceInputInOneStep() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/f32.gguf", direct = directory + "/direct.gguf", twoStep = directory + "/two.gguf"
        #expect(try CLI.run(["convert", CLI.fixture("models/llama-tiny"), gguf, "--tokenizer-pre", "default", "--quiet"]).status == 0)
        #expect(try CLI.run(["quantize", gguf, twoStep, "Q4_K_M", "--quiet"]).status == 0)
        let result = try CLI.run(["quantize", CLI.fixture("models/llama-tiny"), direct, "Q4_K_M", "--tokenizer-pre", "default", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.sha256(direct) == Self.sha256(twoStep))
    }

    @Test func convertTakesMixNamesAndGuardsRequantising() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/mix.gguf"
        let result = try CLI.run(["convert", Self.llama, output, "--type", "q4_k_m", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.sha256(output) == Self.recorded("llama-gqa", "Q4_K_M")["file_sha256"]?.stringValue)
        let q8 = CLI.fixture("models/qwen3-tiny-gguf/qwen3-tiny-q8_0.gguf")
        let refused = try CLI.run(["convert", q8, directory + "/re.gguf", "--type", "q4_0"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("--allow-requantize"))
        #expect(try CLI.run(["convert", q8, directory + "/re.gguf", "--type", "q4_0", "--allow-requantize", "--quiet"]).status == 0)
        let help = try CLI.run(["convert", "--help"])
        #expect(help.stdout.contains("q4_k_m"))
    }
}
