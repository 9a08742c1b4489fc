import Foundation
import Testing
import WeightFormats

/// `budget --type MIX [--imatrix]`: the bytes of the file llama-quantize wrote for the same
/// model and mix (Fixtures/core/quant_mixes/mixes.json, `size`, by quant_mixes.py), and
/// `--memory` counting them.
@Suite struct MixBudgetTests {
    static let mixes = "core/quant_mixes/"
    static let models = ["llama-gqa", "qwen3moe-8x", "qwen2-bias"]
    /// llama-quantize names that `budget --type` (as `convert --type`) reads as one type for
    /// every weight, or that are not mixes (COPY): the rest are compared with llama-quantize.
    static let singleTypes: Set<String> = ["Q3_K", "Q4_K", "Q5_K", "COPY", "F16", "BF16", "F32", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K"]

    static func recordedMixes(_ model: String) throws -> [(label: String, entry: JSONValue)] {
        let object = try #require(try CLI.json(Self.mixes + "mixes.json")["models"]?[model]?["mixes"]?.objectValue)
        return object.map { ($0.key, $0.value) }
    }

    /// A link to `target` whose path has `length` bytes (the imatrix path is written into the
    /// file as `quantize.imatrix.file`, so its length is part of the size).
    static func link(to target: String, length: Int, in directory: String) throws -> String {
        let stem = directory + "/"
        let fill = length - stem.utf8.count - ".gguf".utf8.count
        try #require(fill >= 1, "the temporary directory's path is too long for a \(length)-byte name")
        let path = stem + String(repeating: "m", count: fill) + ".gguf"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        return path
    }

    @Test(arguments: models)
    func bytesEqualLlamaQuantizesFiles(model: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = CLI.fixture(Self.mixes + "\(model)-f16.gguf.zst")
        let recorded = try Self.recordedMixes(model)
        var compared = 0
        let written = try #require(recorded.first { $0.label == "Q4_K_M+imatrix" }?.entry["metadata"]?["quantize.imatrix.file"]?["value"]?.stringValue)
        let matrixLink = try Self.link(to: CLI.fixture(Self.mixes + "\(model).imatrix.gguf"), length: written.utf8.count, in: directory)
        for (label, entry) in recorded.sorted(by: { $0.label < $1.label }) {
            let withMatrix = label.hasSuffix("+imatrix")
            let name = withMatrix ? String(label.dropLast(8)) : label
            if Self.singleTypes.contains(name) { continue }
            var arguments = ["budget", source, "--type", name.lowercased(), "--json"]
            if withMatrix { arguments += ["--imatrix", matrixLink] }
            let result = try CLI.run(arguments)
            if entry["status"]?.intValue != 0 {
                // llama-quantize refused (no imatrix, Q1_0's rows): so does the budget.
                #expect(result.status == 1, "\(model) \(label)")
                #expect(result.stderr.hasPrefix("error: "), "\(model) \(label)")
                continue
            }
            #expect(result.status == 0, "\(model) \(label): \(result.stderr)")
            let mix = try #require(result.json?["weights"]?["mix"], "\(model) \(label)")
            #expect(mix.objectValue?.keys == ["name", "bytes", "by_component", "by_type"])
            #expect(mix["name"]?.stringValue == name)
            let size = try #require(entry["size"]?.intValue)
            #expect(mix["bytes"]?.intValue == size, "\(model) \(label)")
            // The parts add up to the tensor data (the file less its header).
            let byType = try #require(mix["by_type"]?.objectValue).map { $0.value.intValue ?? -1 }.reduce(0, +)
            let byComponent = try #require(mix["by_component"]?.objectValue).map { $0.value.intValue ?? -1 }.reduce(0, +)
            #expect(byType == byComponent && byType > 0 && byType < size)
            compared += 1
        }
        #expect(compared >= 30, "\(model): \(compared) mixes compared")
    }

    @Test func memoryCountsTheMixAndBadInputIsAnError() throws {
        let source = CLI.fixture(Self.mixes + "llama-gqa-f16.gguf.zst")
        let recorded = try #require(try Self.recordedMixes("llama-gqa").first { $0.label == "Q4_K_M" }?.entry["size"]?.intValue)
        let plain = try #require(try CLI.run(["budget", source, "--ctx", "128", "--memory", "1GiB", "--json"]).json)
        let mixed = try #require(try CLI.run(["budget", source, "--type", "q4_k_m", "--ctx", "128", "--memory", "1GiB", "--json"]).json)
        let stored = try #require(plain["weights"]?["bytes"]?.intValue)
        let plainNeed = try #require(plain["fits"]?["required"]?.intValue), mixedNeed = try #require(mixed["fits"]?["required"]?.intValue)
        #expect(plainNeed - mixedNeed == stored - recorded)
        #expect(plain["weights"]?["mix"] == nil)
        let text = try CLI.run(["budget", source, "--type", "q4_k_m"])
        #expect(text.status == 0)
        var grouped = String(recorded)
        for index in stride(from: grouped.count - 3, to: 0, by: -3) { grouped.insert(",", at: grouped.index(grouped.startIndex, offsetBy: index)) }
        #expect(text.stdout.contains("As Q4_K_M: \(grouped) bytes"), "\(text.stdout)")
        let unknown = try CLI.run(["budget", source, "--type", "q4_km"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown type 'q4_km'") && unknown.stderr.contains("q4_k_m"), "\(unknown.stderr)")
        let needsMatrix = try CLI.run(["budget", source, "--type", "iq2_xs"])
        #expect(needsMatrix.status == 1)
        #expect(needsMatrix.stderr.contains("importance matrix"), "\(needsMatrix.stderr)")
        let otherModel = try CLI.run(["budget", source, "--type", "iq2_xs", "--imatrix", CLI.fixture(Self.mixes + "qwen2-bias.imatrix.gguf")])
        #expect(otherModel.status == 1)
        #expect(otherModel.stderr.contains("another model"), "\(otherModel.stderr)")
        #expect(try CLI.run(["budget", source, "--imatrix", CLI.fixture(Self.mixes + "llama-gqa.imatrix.gguf")]).status != 0)
    }

    /// `--bandwidth` with `--type`: the decode ceiling reads the mix's tensors, as it reads those
    /// of the file `quantize` writes for that mix (equal to llama-quantize's, QuantizeTests).
    @Test(arguments: ["q4_k_m", "q2_k", "iq4_xs"])
    func decodeCeilingReadsTheMixesTensors(mix: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = CLI.fixture(Self.mixes + "llama-gqa-f16.gguf.zst")
        let quantized = directory + "/\(mix).gguf"
        let written = try CLI.run(["quantize", source, quantized, mix.uppercased(), "--quiet"])
        try #require(written.status == 0, "\(written.stderr)")
        func ceiling(_ arguments: [String]) throws -> Double {
            let result = try CLI.run(["budget"] + arguments + ["--bandwidth", "80", "--json"])
            return try #require(result.json?["decode_ceiling_tokens_per_second"]?.doubleValue, "\(arguments): \(result.stderr)")
        }
        let planned = try ceiling([source, "--type", mix]), file = try ceiling([quantized]), stored = try ceiling([source])
        #expect(planned == file)
        #expect(planned > stored * 1.5, "a 4-bit mix reads far fewer bytes than F16")
    }

    /// From a config.json alone the tensors are the family's (as llama.cpp's converter names and
    /// stores them): their bytes per type and component are those of the full checkpoint.
    @Test(arguments: ["qwen2-tiny", "qwen3moe-tiny", "mistral-tiny", "gemma2-tiny"])
    func configurationAloneGivesTheCheckpointsTensorBytes(model: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: CLI.fixture("models/\(model)/config.json"), toPath: directory + "/config.json")
        let full = try #require(try CLI.run(["budget", CLI.fixture("models/\(model)"), "--type", "q4_k_m", "--json"]).json?["weights"]?["mix"])
        let described = try CLI.run(["budget", directory, "--type", "q4_k_m", "--json"])
        #expect(described.status == 0, "\(described.stderr)")
        let mix = try #require(described.json?["weights"]?["mix"])
        #expect(mix["by_type"] == full["by_type"])
        #expect(mix["by_component"] == full["by_component"])
        let text = try CLI.run(["budget", directory, "--type", "q4_k_m"])
        #expect(text.stdout.contains("from the configuration (the tokenizer's keys not counted)"))
    }
}
