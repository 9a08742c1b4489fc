import Testing
import WeightArchitecture
import WeightConversion
import WeightFormats

/// `Converter` against llama.cpp's own converter: the tiny Hugging Face checkpoints in
/// Fixtures/models were converted by `convert_hf_to_gguf.py` (f32, f16, q8_0); WeightKit's GGUF
/// of the same checkpoint must hold the same tensors (names, types, shapes, bytes) and the same
/// architecture keys.
@Suite struct ConvertTests {
    static let models = ["llama-tiny", "qwen2-tiny", "qwen3-tiny", "qwen3moe-tiny", "mistral-tiny", "phi3-tiny"]
    static let cases: [(String, String)] = models.flatMap { model in ["f32", "f16", "q8_0"].map { (model, $0) } }

    @Test(arguments: cases)
    func ggufMatchesLlamaCppConverter(model: String, type: String) throws {
        let destination = PathName.join(try temporaryDirectory(), "\(model).gguf")
        _ = try Converter.convert(
            source: Fixture.path("models/\(model)"), destination: destination,
            options: ConversionOptions(type: try Converter.type(named: type), preTokenizer: "default"))
        let ours = try GGUFFile(path: destination)
        let theirs = try GGUFFile(path: Fixture.path("models/\(model)-gguf/\(model)-\(type).gguf"))

        #expect(Set(ours.tensorInfos.map(\.name)) == Set(theirs.tensorInfos.map(\.name)))
        for reference in theirs.tensorInfos {
            guard let mine = ours.tensorInfos.first(where: { $0.name == reference.name }) else { continue }
            #expect(mine.type == reference.type, "\(reference.name): \(mine.type.name) vs \(reference.type.name)")
            #expect(mine.dimensions == reference.dimensions, "\(reference.name) shape")
            let a = Array(ours.file.bytes[mine.offset..<(mine.offset + mine.byteCount)])
            let b = Array(theirs.file.bytes[reference.offset..<(reference.offset + reference.byteCount)])
            if reference.name == "rope_freqs.weight" {
                // Computed, not converted: torch's float32 pow may differ from libm's by an ulp.
                let x = a.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                let y = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                for (p, q) in zip(x, y) { #expect(abs(p - q) <= 1e-6 * abs(q), "rope_freqs \(p) vs \(q)") }
            } else {
                #expect(a == b, "\(reference.name): data differs")
            }
        }
        let arch = theirs.architecture!
        #expect(ours.architecture == arch)
        // The general.* keys too (derived from the model card and config.json as gguf-py does), in the converter's order.
        let general = { (file: GGUFFile) in file.metadata.entries.map(\.key).filter { $0.hasPrefix("general.") && $0 != "general.quantization_version" } }
        #expect(general(ours) == general(theirs))
        for entry in theirs.metadata.entries where entry.key.hasPrefix("\(arch).") || entry.key.hasPrefix("general.") {
            let mine = ours.metadata[entry.key]
            #expect(mine?.typeName == entry.value.typeName, "\(entry.key) type")
            #expect(mine.map(describe) == describe(entry.value), "\(entry.key) value")
        }
    }

    func describe(_ value: GGUFValue) -> String {
        if let s = value.stringValue { return s }
        if let b = value.boolValue { return String(b) }
        if case .float32(let f) = value { return String(f.bitPattern) }
        return value.intValue.map(String.init) ?? "?"
    }

    @Test(arguments: models)
    func huggingFaceRoundTripIsBitIdentical(model: String) throws {
        let directory = try temporaryDirectory()
        let gguf = PathName.join(directory, "m.gguf"), back = PathName.join(directory, "hf")
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: gguf, options: ConversionOptions(type: .f32, preTokenizer: "default"))
        _ = try Converter.convert(source: gguf, destination: back)
        let original = try Checkpoint.open(Fixture.path("models/\(model)"))
        let restored = try Checkpoint.open(back)
        #expect(Set(restored.tensors.map(\.name)) == Set(original.tensors.map(\.name)))
        for view in original.tensors {
            guard let other = restored.tensor(named: view.name) else { continue }
            #expect(other.shape == view.shape, "\(view.name) shape")
            #expect(Array(other.bytes) == Array(view.bytes), "\(view.name) differs")
        }
        let a = try ModelFamilies.architecture(huggingFace: try Fixture.json("models/\(model)/config.json"), file: "a").text!
        let b = try ModelFamilies.architecture(huggingFace: try JSON.parse(FileSystem.readFile(PathName.join(back, "config.json"))), file: "b").text!
        #expect(a.hiddenSize == b.hiddenSize && a.layerCount == b.layerCount && a.headCount == b.headCount)
        #expect(a.kvHeadCount == b.kvHeadCount && a.keyLength == b.keyLength && a.feedForwardLength == b.feedForwardLength)
        #expect(a.vocabularySize == b.vocabularySize && a.contextLength == b.contextLength && a.normEpsilon == b.normEpsilon)
        #expect(a.experts?.expertCount == b.experts?.expertCount && a.experts?.usedExpertCount == b.experts?.usedExpertCount)
        #expect(a.experts?.feedForwardLength == b.experts?.feedForwardLength && a.tiedEmbeddings == b.tiedEmbeddings)
    }

    @Test("GGUF -> one .safetensors file: Hugging Face names, the original bytes", arguments: models)
    func ggufToSafeTensorsFile(model: String) throws {
        let directory = try temporaryDirectory()
        let gguf = PathName.join(directory, "m.gguf"), file = PathName.join(directory, "m.safetensors")
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: gguf, options: ConversionOptions(type: .f32, preTokenizer: "default"))
        _ = try Converter.convert(source: gguf, destination: file)
        let original = try Checkpoint.open(Fixture.path("models/\(model)"))
        let restored = try Checkpoint.open(file)
        #expect(Set(restored.tensors.map(\.name)) == Set(original.tensors.map(\.name)))
        for view in original.tensors {
            let other = try #require(restored.tensor(named: view.name))
            #expect(other.shape == view.shape && other.bytes.elementsEqual(view.bytes), "\(view.name)")
        }
    }

    @Test func ggufRewriteIsDataIdentical() throws {
        let source = Fixture.path("models/qwen3-tiny-gguf/qwen3-tiny-f16.gguf")
        let destination = PathName.join(try temporaryDirectory(), "copy.gguf")
        _ = try Converter.convert(source: source, destination: destination)
        let a = try GGUFFile(path: source), b = try GGUFFile(path: destination)
        #expect(a.metadata.entries.map(\.key) == b.metadata.entries.map(\.key))
        for (x, y) in zip(a.tensorInfos, b.tensorInfos) {
            #expect(x.name == y.name && x.type == y.type && x.dimensions == y.dimensions)
            #expect(Array(a.file.bytes[x.offset..<(x.offset + x.byteCount)]) == Array(b.file.bytes[y.offset..<(y.offset + y.byteCount)]))
        }
    }

    @Test func safetensorsRewriteIsDataIdentical() throws {
        let source = Fixture.path("models/qwen2-tiny/model.safetensors")
        let destination = PathName.join(try temporaryDirectory(), "copy.safetensors")
        _ = try Converter.convert(source: source, destination: destination)
        let a = try Checkpoint.open(source), b = try Checkpoint.open(destination)
        for view in a.tensors { #expect(b.tensor(named: view.name).map { Array($0.bytes) } == Array(view.bytes)) }
    }

    @Test func blockTypesFallBackAsLlamaCpp() {
        #expect(TypeRules.fitting(.q8_0, rowLength: 48) == .f16)
        #expect(TypeRules.fitting(.q4_K, rowLength: 96) == .q5_0)
        #expect(TypeRules.fitting(.q5_K, rowLength: 96) == .q5_1)
        #expect(TypeRules.fitting(.q6_K, rowLength: 96) == .q8_0)
        #expect(TypeRules.fitting(.q6_K, rowLength: 40) == .f16)
        #expect(TypeRules.fitting(.q4_K, rowLength: 512) == .q4_K)
    }

    @Test func unsupportedArchitectureIsRefused() throws {
        var architecture = try ModelFamilies.architecture(huggingFace: try Fixture.json("models/qwen2-tiny/config.json"), file: "config.json")
        architecture.modelType = "mixtral"
        let checkpoint = try Checkpoint.open(Fixture.path("models/qwen2-tiny"))
        #expect(!HuggingFaceToGGUF.supportedModelTypes.contains("mixtral"))
        #expect(throws: ConversionError.unsupportedArchitecture(name: "mixtral", supported: HuggingFaceToGGUF.supportedModelTypes)) {
            _ = try HuggingFaceToGGUF.plan(checkpoint: checkpoint, architecture: architecture, requested: nil, name: "x")
        }
    }

    @Test func failuresAreTypedAndLeaveNoDestination() throws {
        let directory = try temporaryDirectory()
        let taken = PathName.join(directory, "taken.gguf")
        _ = try Converter.convert(source: Fixture.path("models/qwen3-tiny"), destination: taken, options: ConversionOptions(preTokenizer: "default"))
        let before = try FileSystem.readFile(taken)
        #expect(throws: WriteError.destinationExists(path: taken)) {
            _ = try Converter.convert(source: Fixture.path("models/qwen3-tiny"), destination: taken, options: ConversionOptions(preTokenizer: "default"))
        }
        #expect(try FileSystem.readFile(taken) == before)
        #expect(throws: ConversionError.self) { _ = try Converter.type(named: "q3_k") }
        #expect(throws: ConversionError.typeNotStorable(type: "Q8_0", format: "safetensors")) {
            _ = try Converter.convert(
                source: Fixture.path("models/qwen3-tiny"), destination: PathName.join(directory, "x.safetensors"),
                options: ConversionOptions(type: .q8_0))
        }
        #expect(try FileSystem.contentsOfDirectory(directory) == ["taken.gguf"])
    }
}

/// Conversions check what they read and what they will write.
@Suite struct ConversionCheckTests {
    @Test("a checkpoint without the lm_head of an untied model is refused, not converted as tied")
    func missingHeadOfUntiedModel() throws {
        let directory = try temporaryDirectory()
        let config = try Fixture.bytes("models/llama-tiny/config.json")
        let output = try OutputFile(destination: PathName.join(directory, "config.json"))
        try config.withUnsafeBytes { try output.write($0) }
        try output.commit()
        // The same weights without lm_head.weight.
        let kept = try Checkpoint.open(Fixture.path("models/llama-tiny")).tensors.filter { $0.name != "lm_head.weight" }
        let layouts = kept.map { SafeTensorsTensorLayout(name: $0.name, dtype: .f32, shape: $0.shape) }
        let writer = try SafeTensorsWriter(destination: PathName.join(directory, "model.safetensors"), metadata: nil, tensors: layouts)
        for view in kept { try writer.write(UnsafeRawBufferPointer(rebasing: view.file.bytes[view.offset..<(view.offset + view.byteCount)])) }
        try writer.commit()
        let destination = PathName.join(directory, "out.gguf")
        #expect(throws: ConversionError.missingTensors(names: ["lm_head.weight"])) {
            _ = try Converter.convert(source: directory, destination: destination)
        }
        #expect(FileSystem.kind(of: destination) == .missing)
    }
}
