import Testing
import WeightArchitecture
import WeightConversion
import WeightFormats

/// Meta multi-token-prediction checkpoints <-> the `llama-mtp` GGUF layout, against files
/// gguf-py wrote in that layout from the same weights (Fixtures/generators/mtp_models.py).
@Suite struct MetaMTPConversionTests {
    /// Tensors (names, types, shapes, bytes) and `llama-mtp.*` keys of `ours` equal `theirs`'.
    func expectSameGGUF(_ ours: GGUFFile, _ theirs: GGUFFile) {
        #expect(ours.architecture == MetaMTP.ggufArchitecture!)
        #expect(ours.tensorInfos.map(\.name).sorted() == theirs.tensorInfos.map(\.name).sorted())
        for reference in theirs.tensorInfos {
            guard let mine = ours.tensorInfos.first(where: { $0.name == reference.name }) else { continue }
            #expect(mine.type == reference.type && mine.dimensions == reference.dimensions, "\(reference.name)")
            #expect(ours.file.bytes[mine.offset..<(mine.offset + mine.byteCount)]
                .elementsEqual(theirs.file.bytes[reference.offset..<(reference.offset + reference.byteCount)]), "\(reference.name) data")
        }
        for entry in theirs.metadata.entries where entry.key.hasPrefix(MetaMTP.ggufArchitecture! + ".") {
            let mine = ours.metadata[entry.key]
            #expect(mine?.typeName == entry.value.typeName, "\(entry.key) type")
            #expect(mine?.doubleValue == entry.value.doubleValue, "\(entry.key) value")
        }
    }

    @Test("params.json + safetensors or consolidated.00.pth -> llama-mtp GGUF, as gguf-py writes the layout",
          arguments: [("mtp/mtp-4heads", "mtp-4heads", "f32"), ("mtp/mtp-gqa-2heads", "mtp-gqa-2heads", "f32"),
                      ("mtp/mtp-4heads", "mtp-4heads", "f16"), ("pytorch/mtp-4heads-pth", "mtp-4heads", "f32")])
    func toGGUF(source: String, reference: String, type: String) throws {
        let destination = PathName.join(try temporaryDirectory(), "mtp.gguf")
        _ = try Converter.convert(
            source: Fixture.path(source), destination: destination, options: ConversionOptions(type: try Converter.type(named: type)))
        expectSameGGUF(try GGUFFile(path: destination), try GGUFFile(path: Fixture.path("mtp/\(reference).\(type).gguf")))
    }

    @Test("llama-mtp GGUF -> params.json + Meta's names, bit-identical to the original",
          arguments: ["mtp-4heads", "mtp-gqa-2heads", "mtp-3heads-config"])
    func roundTrip(model: String) throws {
        let directory = try temporaryDirectory()
        let gguf = PathName.join(directory, "m.gguf"), back = PathName.join(directory, "meta")
        _ = try Converter.convert(source: Fixture.path("mtp/\(model)"), destination: gguf)
        _ = try Converter.convert(source: gguf, destination: back)
        let original = try Checkpoint.open(Fixture.path("mtp/\(model)"))
        let restored = try Checkpoint.open(back)
        #expect(restored.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        for view in original.tensors {
            let other = try #require(restored.tensor(named: view.name))
            #expect(other.shape == view.shape && other.bytes.elementsEqual(view.bytes), "\(view.name)")
        }
        let a = try #require(try ArchitectureLoader.load(Fixture.path("mtp/\(model)")).text)
        let b = try #require(try ArchitectureLoader.loadJSON(PathName.join(back, "params.json")).text)
        #expect(a.hiddenSize == b.hiddenSize && a.layerCount == b.layerCount && a.headCount == b.headCount)
        #expect(a.kvHeadCount == b.kvHeadCount && a.feedForwardLength == b.feedForwardLength && a.futureTokens == b.futureTokens)
        #expect(a.vocabularySize == b.vocabularySize && a.normEpsilon == b.normEpsilon && a.contextLength == b.contextLength)
    }

    @Test("llama-mtp GGUF -> one .safetensors file with Meta's names")
    func toSafeTensorsFile() throws {
        let directory = try temporaryDirectory()
        let file = PathName.join(directory, "m.safetensors")
        _ = try Converter.convert(source: Fixture.path("mtp/mtp-4heads.f32.gguf"), destination: file)
        let original = try Checkpoint.open(Fixture.path("mtp/mtp-4heads"))
        let restored = try Checkpoint.open(file)
        #expect(restored.tensors.map(\.name).sorted() == original.tensors.map(\.name).sorted())
        for view in original.tensors {
            let other = try #require(restored.tensor(named: view.name))
            #expect(other.bytes.elementsEqual(view.bytes), "\(view.name)")
        }
    }
}
