import CKernels
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WeightArchitecture
import WeightConversion
import WeightFormats

/// Gemma 2 and Gemma 3 conversions against llama.cpp's converter (`Gemma2Model`,
/// `Gemma3Model` in convert_hf_to_gguf.py: norms written as `1 + w`, Gemma 3's token_embd cut to
/// the tokenizer's size), the round trips, and what llama.cpp's GGUF cannot hold.
@Suite struct GemmaConversionTests {
    static let models = ["gemma2-tiny", "gemma3-tiny"]
    static let cases: [(String, String)] = models.flatMap { model in ["f32", "f16", "q8_0"].map { (model, $0) } } + [("gemma2-tiny-f16", "f16")]

    /// Tensor names, types, shapes and bytes, and the `{arch}.*` keys, of two GGUF files.
    static func expectSameModel(_ ours: GGUFFile, _ theirs: GGUFFile, _ label: String) {
        #expect(Set(ours.tensorInfos.map(\.name)) == Set(theirs.tensorInfos.map(\.name)), "\(label): tensor names")
        for reference in theirs.tensorInfos {
            guard let mine = ours.tensorInfos.first(where: { $0.name == reference.name }) else { continue }
            #expect(mine.type == reference.type, "\(label) \(reference.name): \(mine.type.name) vs \(reference.type.name)")
            #expect(mine.dimensions == reference.dimensions, "\(label) \(reference.name) shape")
            let a = ours.file.bytes[mine.offset..<(mine.offset + mine.byteCount)]
            let b = theirs.file.bytes[reference.offset..<(reference.offset + reference.byteCount)]
            #expect(a.elementsEqual(b), "\(label) \(reference.name): data differs")
        }
        let arch = theirs.architecture ?? "?"
        #expect(ours.architecture == arch)
        for entry in theirs.metadata.entries where entry.key.hasPrefix("\(arch).") || ["general.architecture", "general.file_type"].contains(entry.key) {
            let mine = ours.metadata[entry.key]
            #expect(mine?.typeName == entry.value.typeName, "\(label) \(entry.key) type")
            #expect(mine.map(describe) == describe(entry.value), "\(label) \(entry.key) value")
        }
    }

    static func describe(_ value: GGUFValue) -> String {
        if let s = value.stringValue { return s }
        if let b = value.boolValue { return String(b) }
        if case .float32(let f) = value { return String(f.bitPattern) }
        return value.intValue.map(String.init) ?? "?"
    }

    static func sha256(_ path: String) throws -> String {
        Digest.sha256Hex(try FileSystem.readFile(path))
    }

    /// WeightKit's f32 GGUF of a fixture, as the fixture script made it for llama.cpp.
    static func weightKitGGUF(_ model: String, into directory: String) throws -> String {
        let reference = try Fixture.json("models/\(model)/reference.json")
        let path = PathName.join(directory, "\(model).gguf")
        let tokenizer = reference["llama_cpp"]?["tokenizer_from"]?.stringValue.map { Fixture.path("models/\(model)-gguf/\($0)") }
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: path,
                                  options: ConversionOptions(type: .f32, tokenizerFrom: tokenizer, preTokenizer: "default"))
        return path
    }

    @Test("HF -> GGUF holds llama.cpp's converter's tensors and keys", arguments: cases)
    func matchesLlamaCppConverter(model: String, type: String) throws {
        let destination = PathName.join(try temporaryDirectory(), "\(model).gguf")
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: destination,
                                  options: ConversionOptions(type: try Converter.type(named: type), preTokenizer: "default"))
        Self.expectSameModel(try GGUFFile(path: destination), try GGUFFile(path: Fixture.path("models/\(model)-gguf/\(model)-\(type).gguf")),
                             "\(model) \(type)")
    }

    @Test("llama.cpp ran WeightKit's GGUF of each model and generated transformers' greedy tokens", arguments: models)
    func llamaCppRunsWeightKitGGUF(model: String) throws {
        let reference = try Fixture.json("models/\(model)/reference.json")
        let path = try Self.weightKitGGUF(model, into: try temporaryDirectory())
        // The file llama.cpp ran is the one WeightKit writes today.
        #expect(try Self.sha256(path) == reference["llama_cpp"]?["weightkit_f32_sha256"]?.stringValue)
        let greedy = try #require(reference["greedy"]?.arrayValue)
        #expect(reference["llama_cpp"]?["greedy"]?.arrayValue == greedy)
        #expect(greedy.count == 8)
        // Its tokenizer fills the embedding rows exactly, which llama.cpp requires.
        let file = try GGUFFile(path: path)
        let rows = try #require(file.tensorInfos.first { $0.name == "token_embd.weight" }?.dimensions.last)
        #expect(file.metadata.array("tokenizer.ggml.tokens")?.count == rows)
    }

    @Test("diff of the Hugging Face directory and llama.cpp's GGUF: every tensor equal once the plan's 1 + w and cut are applied",
          arguments: Self.models)
    func diffAgainstConverter(model: String) throws {
        let report = try CheckpointDiff.compare(Fixture.path("models/\(model)"), Fixture.path("models/\(model)-gguf/\(model)-f32.gguf"))
        #expect(report.tensors.count > 0 && report.onlyInA.isEmpty && report.onlyInB.isEmpty && report.shapeMismatches.isEmpty)
        for tensor in report.tensors { #expect(tensor.statistics.maxAbsoluteError == 0, "\(tensor.name): \(tensor.statistics.maxAbsoluteError)") }
    }

    @Test("transformers loaded WeightKit's Hugging Face directory of llama.cpp's GGUF and computed the original model", arguments: models)
    func transformersRunsWeightKitDirectory(model: String) throws {
        let recorded = try #require(try Fixture.json("models/\(model)/reference.json")["transformers_on_weightkit_hf"])
        let gguf = try #require(recorded["gguf"]?.stringValue)
        let directory = PathName.join(try temporaryDirectory(), "hf")
        _ = try Converter.convert(source: Fixture.path("models/\(model)-gguf/\(gguf)"), destination: directory)
        // The files transformers read are the ones WeightKit writes today.
        for name in ["config.json", "model.safetensors"] {
            #expect(try Self.sha256(PathName.join(directory, name)) == recorded["weightkit_sha256"]?[name]?.stringValue, "\(name)")
        }
        let error = try #require(recorded["logits_rel_l2"]?.doubleValue)
        #expect(error <= 1e-6)
        #expect(recorded["greedy"] == (try Fixture.json("models/\(model)/reference.json")["greedy"]))
    }

    @Test("Gemma 3: token_embd keeps the tokenizer's rows, as the converter cuts it")
    func embeddingCut() throws {
        let reference = try Fixture.json("models/gemma3-tiny/reference.json")
        let rows = try #require(reference["gguf_vocab_size"]?.intValue)
        let theirs = try GGUFFile(path: Fixture.path("models/gemma3-tiny-gguf/gemma3-tiny-f32.gguf"))
        #expect(theirs.tensorInfos.first { $0.name == "token_embd.weight" }?.dimensions.last == rows)
        #expect(rows < (try #require(reference["vocab_size"]?.intValue)))
        var architecture = try ArchitectureLoader.load(Fixture.path("models/gemma3-tiny"))
        #expect(architecture.text?.ggufVocabularySize == nil)
        architecture = try HuggingFaceToGGUF.prepared(architecture, directory: Fixture.path("models/gemma3-tiny"))
        #expect(architecture.text?.ggufVocabularySize == rows)
        // The GGUF reads back with the cut vocabulary.
        let description = try ModelFamilies.architecture(gguf: theirs)
        #expect(description.text?.vocabularySize == rows)
    }

    @Test("GGUF -> HF -> GGUF is byte-exact: WeightKit's GGUF, the whole file", arguments: models)
    func ggufRoundTripIsByteExact(model: String) throws {
        let directory = try temporaryDirectory()
        let original = try Self.weightKitGGUF(model, into: directory)
        // The directory is named after the model, so that general.name comes out the same.
        #expect(mkdir(PathName.join(directory, "hf"), 0o755) == 0)
        let hf = PathName.join(PathName.join(directory, "hf"), model)
        _ = try Converter.convert(source: original, destination: hf)
        let back = PathName.join(directory, "back.gguf")
        _ = try Converter.convert(source: hf, destination: back, options: ConversionOptions(tokenizerFrom: original))
        #expect(try FileSystem.readFile(back) == FileSystem.readFile(original))
    }

    @Test("GGUF -> HF -> GGUF of llama.cpp's converter's GGUF: every tensor and {arch} key", arguments: cases.filter { $0.1 != "q8_0" })
    func converterRoundTrip(model: String, type: String) throws {
        let directory = try temporaryDirectory()
        let source = Fixture.path("models/\(model)-gguf/\(model)-\(type).gguf")
        let hf = PathName.join(directory, "hf")
        _ = try Converter.convert(source: source, destination: hf)
        let back = PathName.join(directory, "back.gguf")
        _ = try Converter.convert(source: hf, destination: back, options: ConversionOptions(preTokenizer: "default"))
        Self.expectSameModel(try GGUFFile(path: back), try GGUFFile(path: source), "\(model) \(type) round trip")
    }

    @Test("HF -> GGUF -> HF: norms come back as fl(fl(1 + w) - 1), Gemma 3 without the cut rows; all else bit-identical", arguments: models)
    func huggingFaceRoundTrip(model: String) throws {
        let directory = try temporaryDirectory()
        let gguf = PathName.join(directory, "m.gguf"), back = PathName.join(directory, "hf")
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: gguf, options: ConversionOptions(type: .f32, preTokenizer: "default"))
        _ = try Converter.convert(source: gguf, destination: back)
        let original = try Checkpoint.open(Fixture.path("models/\(model)"))
        let restored = try Checkpoint.open(back)
        // Gemma 2's converter drops lm_head (the model reads token_embd); transformers saved none.
        #expect(Set(restored.tensors.map(\.name)) == Set(original.tensors.map(\.name)))
        var changedNorms = 0
        for view in original.tensors {
            let other = try #require(restored.tensor(named: view.name))
            if view.name.hasSuffix("norm.weight") {
                let w = try view.floats(), v = try other.floats()
                for (a, b) in zip(w, v) {
                    #expect(b == (1 + a) - 1, "\(view.name)")
                    #expect(abs(b - a) <= 0x1p-24, "\(view.name)")
                    if a != b { changedNorms += 1 }
                }
            } else if view.name == "model.embed_tokens.weight", let rows = try Fixture.json("models/\(model)/reference.json")["gguf_vocab_size"]?.intValue {
                #expect(other.shape == [rows, view.shape[1]])
                #expect(other.bytes.elementsEqual(view.bytes.prefix(other.byteCount)))
            } else {
                #expect(other.shape == view.shape && other.bytes.elementsEqual(view.bytes), "\(view.name)")
            }
        }
        // The loss is real: random float32 offsets have bits below 1 + w's last.
        #expect(changedNorms > 0)
        let a = try ModelFamilies.architecture(huggingFace: try Fixture.json("models/\(model)/config.json"), file: "a").text!
        let b = try ModelFamilies.architecture(huggingFace: try JSON.parse(FileSystem.readFile(PathName.join(back, "config.json"))), file: "b").text!
        #expect(a.layerTypes == b.layerTypes && a.slidingWindow == b.slidingWindow && a.attentionScale == b.attentionScale)
        #expect(a.attentionSoftCap == b.attentionSoftCap && a.finalLogitSoftCap == b.finalLogitSoftCap)
        #expect(a.rotary == b.rotary && a.slidingRotary?.theta == b.slidingRotary?.theta && a.qkNorm == b.qkNorm)
        #expect(a.hiddenSize == b.hiddenSize && a.layerCount == b.layerCount && a.kvHeadCount == b.kvHeadCount && a.normEpsilon == b.normEpsilon)
        let kept = try Fixture.json("models/\(model)/reference.json")["gguf_vocab_size"]?.intValue
        #expect(b.vocabularySize == kept ?? a.vocabularySize)
    }

    @Test("float32 offsets: x - 1 is exact for GGUF norms x >= 0.5, so (x - 1) + 1 == x; below, it can round")
    func unitOffsetArithmetic() throws {
        // The GGUF norms of the fixtures lie in [0.5, 2].
        for model in Self.models {
            let file = try GGUFFile(path: Fixture.path("models/\(model)-gguf/\(model)-f32.gguf"))
            let checkpoint = try Checkpoint.open(file.file.path)
            for view in checkpoint.tensors where view.name.hasSuffix("norm.weight") {
                for x in try view.floats() { #expect(x >= 0.5 && x <= 2, "\(model) \(view.name): \(x)") }
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let x = Float(bitPattern: UInt32.random(in: Float(0.5).bitPattern...Float(64).bitPattern, using: &generator))
            #expect((x - 1) + 1 == x)
        }
        // Below 0.5, x - 1 needs more bits than float32 keeps.
        let small = Float(0.3).nextUp
        #expect((small - 1) + 1 != small)
    }

    @Test("HF -> GGUF refuses a query_pre_attn_scalar llama.cpp does not derive, naming the key and both values")
    func refusesAttentionScalar() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("models/gemma2-tiny"))
        var config = try #require(try Fixture.json("models/gemma2-tiny/config.json").objectValue)
        config["query_pre_attn_scalar"] = .int(64)
        let architecture = try ModelFamilies.architecture(huggingFace: .object(config), file: "config.json")
        #expect(throws: ArchitectureError.notRepresentable(
            key: "query_pre_attn_scalar", value: "64", representable: "16 (llama.cpp derives it as head_dim)", format: "a gemma2 GGUF")) {
            _ = try HuggingFaceToGGUF.plan(checkpoint: checkpoint, architecture: architecture, requested: nil, name: "x")
        }
        // The 27B rule: 46 layers (Gemma 2) take hidden_size / num_attention_heads.
        var large = try #require(architecture.text)
        large.layerCount = 46
        large.attentionScale = GemmaLayout.attentionScale(scalar: Double(large.hiddenSize / large.headCount))
        _ = try Gemma2.ggufMetadata(ModelArchitecture(modelType: "gemma2", text: large, origin: architecture.origin), name: "x", fileType: 0)
        large.attentionScale = GemmaLayout.attentionScale(scalar: Double(large.keyLength))
        #expect(throws: ArchitectureError.notRepresentable(
            key: "query_pre_attn_scalar", value: "16",
            representable: "\(large.hiddenSize / large.headCount) (llama.cpp derives it as hidden_size / num_attention_heads)", format: "a gemma2 GGUF")) {
            _ = try Gemma2.ggufMetadata(ModelArchitecture(modelType: "gemma2", text: large, origin: architecture.origin), name: "x", fileType: 0)
        }
    }

    @Test("HF -> GGUF refuses what llama.cpp's gemma2 cannot hold: no soft cap, an untied head, biases, bidirectional attention")
    func refusesUnrepresentable() throws {
        let base = try #require(try Fixture.json("models/gemma2-tiny/config.json").objectValue)
        let cases: [(String, JSONValue)] = [
            ("attn_logit_softcapping", .null), ("final_logit_softcapping", .null), ("tie_word_embeddings", .bool(false)),
            ("attention_bias", .bool(true)), ("use_bidirectional_attention", .bool(true)),
        ]
        for (key, value) in cases {
            var config = base
            config[key] = value
            let architecture = try ModelFamilies.architecture(huggingFace: .object(config), file: "config.json")
            do {
                _ = try Gemma2.ggufMetadata(architecture, name: "x", fileType: 0)
                Issue.record("\(key) = \(value) should be refused")
            } catch let error as ArchitectureError {
                guard case .notRepresentable(let named, _, _, _) = error else { Issue.record("\(error)"); continue }
                #expect(named == key)
            }
        }
    }

    @Test("a layer pattern other than llama.cpp's default is written as attention.sliding_window_pattern and read back")
    func layerPattern() throws {
        for (model, arch) in [("gemma2-tiny", "gemma2"), ("gemma3-tiny", "gemma3")] {
            var config = try #require(try Fixture.json("models/\(model)/config.json").objectValue)
            let layers = try #require(config["num_hidden_layers"]?.intValue)
            let types: [AttentionSpan] = (0..<layers).map { $0 == 1 ? .full : .sliding }
            config["layer_types"] = .array(types.map { .string($0.rawValue) })
            let architecture = try ModelFamilies.architecture(huggingFace: .object(config), file: "config.json")
            let family = try ModelFamilies.family(of: architecture)
            let metadata = try family.ggufMetadata(architecture, name: "x", fileType: 0)
            let key = "\(arch).attention.sliding_window_pattern"
            guard case .array(_, let elements)? = metadata[key] else { Issue.record("\(key) missing"); continue }
            #expect(elements.map(\.boolValue) == types.map { $0 == .sliding })
            // A GGUF with the key reads the same spans.
            let directory = try temporaryDirectory()
            let source = try Self.directory(model, config: config, in: directory)
            let path = PathName.join(directory, "m.gguf")
            _ = try Converter.convert(source: source, destination: path, options: ConversionOptions(type: .f32, preTokenizer: "default"))
            let back = try ModelFamilies.architecture(gguf: try GGUFFile(path: path))
            #expect(back.text?.layerTypes == types)
            // The default pattern writes no key, as the converter.
            let standard = try ModelFamilies.architecture(huggingFace: try Fixture.json("models/\(model)/config.json"), file: "config.json")
            #expect(try family.ggufMetadata(standard, name: "x", fileType: 0)[key] == nil)
        }
    }

    /// A Hugging Face directory with a fixture's weights (linked) and another config.json.
    static func directory(_ model: String, config: JSONObject, in parent: String) throws -> String {
        let directory = PathName.join(parent, model)
        guard mkdir(directory, 0o755) == 0,
              symlink(Fixture.path("models/\(model)/model.safetensors"), PathName.join(directory, "model.safetensors")) == 0 else {
            throw WriteError.cannotCreate(path: directory, reason: "mkdir or symlink failed")
        }
        let file = try OutputFile(destination: PathName.join(directory, "config.json"))
        try file.write(JSONWriter.string(.object(config)))
        try file.commit()
        return directory
    }
}
