import Testing
import WeightConversion
import WeightFormats

/// Whole files written by ModelQuantizer against llama-quantize's, for every mix, with and
/// without the llama-imatrix matrix (Fixtures/generators/quant_mixes.py): every tensor's type
/// and bytes, the metadata, and the file's sha256.
@Suite struct ModelQuantizerTests {
    static let summary: JSONValue? = try? Fixture.json("core/quant_mixes/mixes.json")

    struct Case: Sendable, CustomStringConvertible {
        let model: String, label: String
        var description: String { "\(model) \(label)" }
    }

    static let cases: [Case] = {
        guard let models = summary?["models"]?.objectValue else { return [] }
        return models.keys.sorted().flatMap { model in
            (models[model]?["mixes"]?.objectValue?.keys.sorted() ?? []).compactMap { label in
                models[model]?["mixes"]?[label]?["status"]?.intValue == 0 ? Case(model: model, label: label) : nil
            }
        }
    }()

    @Test func casesExist() { #expect(Self.cases.count > 150) }

    @Test("bytes as llama-quantize's", arguments: cases)
    func bytesMatch(_ testCase: Case) throws {
        let model = try #require(Self.summary?["models"]?[testCase.model])
        let entry = try #require(model["mixes"]?[testCase.label])
        let withImportance = testCase.label.hasSuffix("+imatrix")
        let mixName = withImportance ? String(testCase.label.dropLast("+imatrix".count)) : testCase.label
        var options = QuantizeOptions(target: try #require(QuantizationTarget.parse(mixName)?.target))
        if withImportance {
            let file = try #require(model["imatrix"]?.stringValue)
            options.importance = try ImportanceMatrix.read(path: Fixture.path("core/quant_mixes/\(file)"))
            // The path llama-quantize was given, so that quantize.imatrix.file matches too.
            options.importancePath = try #require(entry["metadata"]?["quantize.imatrix.file"]?["value"]?.stringValue)
        }
        let directory = try temporaryDirectory()
        let output = PathName.join(directory, "out.gguf")
        let source = Fixture.path("core/quant_mixes/\(try #require(model["source"]?.stringValue))")
        let report = try ModelQuantizer.quantize(source: source, destination: output, options: options)
        #expect(report.output == output)

        let written = try GGUFFile(path: output)
        let order = try #require(model["order"]?.arrayValue).compactMap(\.stringValue)
        let recorded = try #require(entry["tensors"]?.arrayValue).compactMap(\.stringValue)
        #expect(written.tensorInfos.map(\.name) == order)
        for (info, reference) in zip(written.tensorInfos, recorded) {
            let bytes = UnsafeRawBufferPointer(rebasing: written.file.bytes[info.offset..<(info.offset + info.byteCount)])
            let digest = "\(info.type.name):\(Digest.sha256Hex(bytes).prefix(16))"
            if digest != reference {
                Issue.record("\(testCase): \(info.name) is \(digest), llama-quantize wrote \(reference)\(firstDifference(testCase, info, bytes))")
            }
        }
        let fileBytes = try FileSystem.readFile(output, limit: 1 << 26)
        #expect(Digest.sha256Hex(fileBytes) == entry["file_sha256"]?.stringValue, "whole file")
        #expect(fileBytes.count == entry["size"]?.intValue)
    }

    /// Where the llama-quantize output is still in Fixtures/.cache (after `make fixtures`), the
    /// first differing block.
    func firstDifference(_ testCase: Case, _ info: GGUFTensorInfo, _ bytes: UnsafeRawBufferPointer) -> String {
        let cached = Fixture.path(".cache/quant-mixes/\(testCase.model)-\(testCase.label).gguf")
        guard let reference = try? GGUFFile(path: cached), let other = reference.tensorInfos.first(where: { $0.name == info.name }),
              other.byteCount == info.byteCount else { return "" }
        let theirs = UnsafeRawBufferPointer(rebasing: reference.file.bytes[other.offset..<(other.offset + other.byteCount)])
        guard let first = (0..<bytes.count).first(where: { bytes[$0] != theirs[$0] }) else { return "" }
        let rowBytes = info.type.byteCount(elements: info.dimensions.first ?? 1) ?? 1
        return " (first difference at byte \(first): row \(first / rowBytes), block \((first % rowBytes) / info.type.bytesPerBlock))"
    }
}

@Suite struct ModelQuantizerInputTests {
    @Test func nonFiniteValuesAreRefusedAndNothingIsWritten() throws {
        let directory = try temporaryDirectory()
        let source = PathName.join(directory, "nan.gguf")
        var metadata = GGUFMetadataList()
        metadata["general.architecture"] = .string("llama")
        metadata["llama.block_count"] = .uint32(1)
        metadata["llama.attention.head_count"] = .uint32(4)
        let writer = try GGUFWriter(destination: source, metadata: metadata, tensors: [GGUFTensorLayout(name: "blk.0.attn_q.weight", type: .f32, shape: [4, 256])])
        var values = [Float](repeating: 0.5, count: 1024)
        values[300] = .nan
        try values.withUnsafeBytes { try writer.write($0) }
        try writer.commit()
        let output = PathName.join(directory, "out.gguf")
        #expect(throws: ModelQuantizerError.nonFiniteValues(tensor: "blk.0.attn_q.weight")) {
            _ = try ModelQuantizer.quantize(source: source, destination: output, options: QuantizeOptions(target: .mix(.q4_K_M)))
        }
        #expect(try FileSystem.contentsOfDirectory(directory) == ["nan.gguf"])
    }
}
