import Testing
import WeightArchitecture
import WeightConversion
import WeightFormats

/// Mistral's and Phi-3's conversions beyond what llama.cpp's converter writes (ConvertTests
/// compares the tensors and keys with it): Mistral's window key, which marks a `llama` file as
/// Mistral's, and configurations written back with the window and Phi-3's longrope.
@Suite struct MistralPhi3ConversionTests {
    static func convert(_ model: String, type: GGMLType = .f32) throws -> (gguf: String, directory: String) {
        let directory = try temporaryDirectory()
        let gguf = PathName.join(directory, "\(model).gguf")
        _ = try Converter.convert(source: Fixture.path("models/\(model)"), destination: gguf, options: ConversionOptions(type: type, preTokenizer: "default"))
        return (gguf, directory)
    }

    static func config(_ path: String) throws -> ModelArchitecture {
        try ModelFamilies.architecture(huggingFace: try JSON.parse(FileSystem.readFile(path)), file: path)
    }

    @Test("Mistral -> GGUF: llama with llama.attention.sliding_window, read back as Mistral with the window on every layer")
    func mistralWindowKey() throws {
        let (gguf, _) = try Self.convert("mistral-tiny")
        let file = try GGUFFile(path: gguf)
        #expect(file.architecture == "llama")
        #expect(file.metadata["llama.attention.sliding_window"]?.typeName == "UINT32")
        #expect(file.metadata["llama.attention.sliding_window"]?.intValue == 10)
        let read = try ModelFamilies.architecture(gguf: file)
        #expect(read.modelType == "mistral")
        #expect(read.text?.slidingWindow == 10)
        #expect(read.text?.layerTypes == [.sliding, .sliding])
        // The description of the Hugging Face config, through GGUF (whose epsilon is a float32).
        var original = try #require(try Self.config(Fixture.path("models/mistral-tiny/config.json")).text)
        var through = try #require(read.text)
        #expect(Float(through.normEpsilon) == Float(original.normEpsilon))
        original.normEpsilon = 0
        through.normEpsilon = 0
        #expect(through == original)
    }

    @Test("a plain Llama GGUF has no window key and stays llama; llama.cpp's Mistral GGUF reads as llama")
    func llamaStaysLlama() throws {
        let (gguf, _) = try Self.convert("llama-tiny")
        let file = try GGUFFile(path: gguf)
        #expect(file.metadata["llama.attention.sliding_window"] == nil)
        #expect(try ModelFamilies.architecture(gguf: file).modelType == "llama")
        let theirs = try GGUFFile(path: Fixture.path("models/mistral-tiny-gguf/mistral-tiny-f32.gguf"))
        let read = try ModelFamilies.architecture(gguf: theirs)
        #expect(read.modelType == "llama")
        #expect(read.text?.slidingWindow == nil && read.text?.layerTypes == nil)
    }

    @Test("GGUF -> Hugging Face: the configuration reads back as the original", arguments: ["mistral-tiny", "phi3-tiny"])
    func configurationRoundTrip(model: String) throws {
        let (gguf, directory) = try Self.convert(model)
        let back = PathName.join(directory, "hf")
        _ = try Converter.convert(source: gguf, destination: back)
        let written = try JSON.parse(FileSystem.readFile(PathName.join(back, "config.json")))
        #expect(written["sliding_window"]?.intValue == 10)
        #expect(written["attention_bias"] == nil)
        let original = try Self.config(Fixture.path("models/\(model)/config.json"))
        let restored = try Self.config(PathName.join(back, "config.json"))
        #expect(restored.modelType == original.modelType)
        #expect(restored.text == original.text)
    }

    @Test("Phi-3's configuration back: longrope's lists, original context and partial rotary as transformers spells them")
    func phi3Configuration() throws {
        let (gguf, directory) = try Self.convert("phi3-tiny")
        let back = PathName.join(directory, "hf")
        _ = try Converter.convert(source: gguf, destination: back)
        let written = try JSON.parse(FileSystem.readFile(PathName.join(back, "config.json")))
        let source = try Fixture.json("models/phi3-tiny/config.json")
        #expect(written["architectures"]?.arrayValue?.first?.stringValue == "Phi3ForCausalLM")
        #expect(written["original_max_position_embeddings"] == source["original_max_position_embeddings"])
        #expect(written["partial_rotary_factor"]?.doubleValue == source["rope_parameters"]?["partial_rotary_factor"]?.doubleValue)
        #expect(written["rope_scaling"]?["type"]?.stringValue == "longrope")
        for list in ["short_factor", "long_factor"] {
            #expect(written["rope_scaling"]?[list] == source["rope_parameters"]?[list], "\(list)")
        }
        // Computed from max / original positions, as transformers does when none is given.
        #expect(written["rope_scaling"]?["attention_factor"] == nil)
    }

    @Test("Phi-3 GGUF: longrope from rope_factors_long/short and phi3.rope.scaling.attn_factor")
    func phi3GGUFDescription() throws {
        let hf = try Self.config(Fixture.path("models/phi3-tiny/config.json"))
        for path in [Fixture.path("models/phi3-tiny-gguf/phi3-tiny-f32.gguf"), try Self.convert("phi3-tiny", type: .q8_0).gguf] {
            let read = try ModelFamilies.architecture(gguf: try GGUFFile(path: path))
            #expect(read.modelType == "phi3")
            let scaling = try #require(read.text?.rotary?.scaling)
            #expect(scaling.type == "longrope")
            #expect(scaling == hf.text?.rotary?.scaling, "\(path)")
            #expect(read.text?.fusedQKV == true && read.text?.fusedGateUp == true)
            #expect(read.text?.slidingWindow == 10)
        }
    }

    @Test("bad Phi-3 configurations name the key")
    func badPhi3Configurations() throws {
        let source = try #require(try Fixture.json("models/phi3-tiny/config.json").objectValue)
        func variant(_ change: (inout JSONObject) -> Void) -> JSONValue {
            var object = source
            change(&object)
            return .object(object)
        }
        func rope(_ change: (inout JSONObject) -> Void) -> JSONValue {
            variant { object in
                var rope = object["rope_parameters"]?.objectValue ?? JSONObject()
                change(&rope)
                object["rope_parameters"] = .object(rope)
            }
        }
        let cases: [(JSONValue, String)] = [
            (rope { $0["rope_type"] = .string("linear") }, "rope_parameters.rope_type"),
            (rope { $0["long_factor"] = nil }, "rope_parameters.long_factor"),
            (rope { $0["short_factor"] = .array([.double(1), .double(1)]) }, "rope_scaling.short_factor"),
            (rope { $0["long_factor"] = .array([.double(1), .double(-2), .double(1), .double(1)]) }, "rope_scaling.long_factor"),
            (rope { $0["attention_factor"] = .double(-1) }, "rope_parameters.attention_factor"),
            (variant { $0["sliding_window"] = .int(0) }, "sliding_window"),
            (variant { $0["original_max_position_embeddings"] = .int(0) }, "original_max_position_embeddings"),
        ]
        for (config, key) in cases {
            do {
                _ = try ModelFamilies.architecture(huggingFace: config, file: "config.json")
                Issue.record("accepted a bad \(key)")
            } catch let error as ArchitectureError {
                #expect("\(error)".contains(key), "\(key): \(error)")
            }
        }
    }

    @Test("a Phi-3 GGUF with a bad attention factor names the key")
    func badPhi3GGUF() throws {
        let (gguf, directory) = try Self.convert("phi3-tiny")
        let source = try GGUFFile(path: gguf)
        var metadata = GGUFMetadataList(copying: source.metadata)
        metadata["phi3.rope.scaling.attn_factor"] = .float32(0)
        let header = try GGUFFile.reading(metadata, path: PathName.join(directory, "bad.gguf"))
        let index = GGUFTensorIndex(shapes: Dictionary(uniqueKeysWithValues: source.tensorInfos.map { ($0.name, $0.shape) }))
        #expect(throws: ArchitectureError.ruleViolated(file: PathName.join(directory, "bad.gguf"), key: "phi3.rope.scaling.attn_factor",
                                                       value: "0.0", rule: .finitePositive)) {
            _ = try ModelFamilies.architecture(gguf: header, tensors: index)
        }
    }
}
