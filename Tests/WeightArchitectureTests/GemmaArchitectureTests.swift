import Testing
@testable import WeightArchitecture
import WeightFormats

private let fixtures: String = {
    var path = #filePath
    for _ in 0..<3 { path = PathName.directory(of: path) }
    return PathName.join(path, "Fixtures")
}()

private func config(_ model: String) throws -> JSONObject {
    let json = try JSON.parse(FileSystem.readFile(PathName.join(fixtures, "models/\(model)/config.json")))
    guard let object = json.objectValue else { throw ArchitectureError.wrongType(file: model, key: "(top level)", expected: "an object") }
    return object
}

private func read(_ object: JSONObject) throws -> ModelArchitecture {
    try ModelFamilies.architecture(huggingFace: .object(object), file: "config.json")
}

/// Gemma 2 and Gemma 3 descriptions: transformers 4.x and 5.x spellings, what llama.cpp's GGUF
/// says about the same model, and bad values.
@Suite struct GemmaArchitectureTests {
    @Test("4.x spellings (rope_theta, rope_local_base_freq, rope_scaling, sliding_window_pattern, hidden_act) read as 5.x's")
    func legacySpellings() throws {
        for model in ["gemma2-tiny", "gemma3-tiny"] {
            let modern = try config(model)
            var legacy = modern
            let parameters = try #require(modern["rope_parameters"]?.objectValue)
            legacy["rope_parameters"] = nil
            legacy["layer_types"] = nil
            legacy["hidden_act"] = modern["hidden_activation"]
            legacy["hidden_activation"] = nil
            if let full = parameters["full_attention"]?.objectValue, let local = parameters["sliding_attention"]?.objectValue {
                legacy["rope_theta"] = full["rope_theta"]
                legacy["rope_local_base_freq"] = local["rope_theta"]
                legacy["rope_scaling"] = .object(JSONObject([("rope_type", full["rope_type"] ?? .null), ("factor", full["factor"] ?? .null)]))
                legacy["sliding_window_pattern"] = .int(6)
            } else {
                legacy["rope_theta"] = parameters["rope_theta"]
            }
            #expect(try read(legacy) == read(modern), "\(model)")
        }
    }

    @Test("the description of llama.cpp's converter's GGUF agrees with the Hugging Face one", arguments: ["gemma2-tiny", "gemma3-tiny"])
    func ggufAgrees(model: String) throws {
        let hf = try #require(try read(try config(model)).text)
        let file = try GGUFFile(path: PathName.join(fixtures, "models/\(model)-gguf/\(model)-f32.gguf"))
        let gguf = try #require(try ModelFamilies.architecture(gguf: file).text)
        #expect(gguf.layerTypes == hf.layerTypes && gguf.slidingWindow == hf.slidingWindow)
        #expect(gguf.attentionSoftCap == hf.attentionSoftCap && gguf.finalLogitSoftCap == hf.finalLogitSoftCap)
        #expect(gguf.attentionScale == hf.attentionScale && gguf.embeddingScale.map(Float.init) == hf.embeddingScale.map(Float.init))
        #expect(gguf.rotary == hf.rotary && gguf.slidingRotary?.theta ?? gguf.rotary?.theta == hf.slidingRotary?.theta ?? hf.rotary?.theta)
        #expect(gguf.slidingRotary?.scaling == nil)
        #expect(gguf.qkNorm == hf.qkNorm && gguf.unitOffsetNorms && hf.unitOffsetNorms && gguf.sublayerOutputNorms && hf.sublayerOutputNorms)
        #expect(gguf.activation == .geluTanh && hf.activation == .geluTanh && gguf.tiedEmbeddings && hf.tiedEmbeddings)
        #expect(gguf.keyLength == hf.keyLength && gguf.kvHeadCount == hf.kvHeadCount && gguf.contextLength == hf.contextLength)
    }

    @Test("bad values are errors naming the key")
    func badValues() throws {
        let base = try config("gemma3-tiny")
        func rejects(_ key: String, _ value: JSONValue, named expected: String? = nil) {
            var object = base
            object[key] = value
            do {
                _ = try read(object)
                Issue.record("\(key) = \(value) accepted")
            } catch let error as ArchitectureError {
                switch error {
                case .ruleViolated(_, let named, _, _), .invalidValue(_, let named, _), .wrongType(_, let named, _), .missingKey(_, let named):
                    #expect(named == expected ?? key, "\(error)")
                default: Issue.record("\(error)")
                }
            } catch { Issue.record("\(error)") }
        }
        rejects("sliding_window", .int(0))
        rejects("sliding_window", .null)
        rejects("query_pre_attn_scalar", .int(0))
        rejects("query_pre_attn_scalar", .double(-4))
        rejects("query_pre_attn_scalar", .string("big"))
        rejects("final_logit_softcapping", .double(0))
        rejects("layer_types", .array([.string("sliding_attention")]))
        rejects("layer_types", .array(Array(repeating: .string("local"), count: 6)))
        rejects("hidden_activation", .string("swish_glu"))
        rejects("num_hidden_layers", .int(0))
        var gemma2 = try config("gemma2-tiny")
        gemma2["attn_logit_softcapping"] = .double(-1)
        #expect(throws: ArchitectureError.self) { _ = try read(gemma2) }
    }

    @Test("an unknown model type is refused with the supported ones, Gemma's among them")
    func unknownFamily() throws {
        var object = try config("gemma2-tiny")
        object["model_type"] = .string("gemma7")
        #expect(throws: ArchitectureError.unsupportedModelType(file: "config.json", modelType: "gemma7", supported: ModelFamilies.modelTypes)) {
            _ = try read(object)
        }
        for type in ["gemma2", "gemma3_text", "gemma3"] { #expect(ModelFamilies.modelTypes.contains(type)) }
    }

    @Test("llama.cpp's layer pattern: every period-th layer full, as set_swa_pattern")
    func patterns() {
        let gemma2 = GemmaLayout.pattern(layers: 4, period: 2)
        #expect(gemma2 == [.sliding, .full, .sliding, .full])
        let gemma3 = GemmaLayout.pattern(layers: 12, period: 6)
        #expect(gemma3.enumerated().filter { $0.element == .full }.map(\.offset) == [5, 11])
        #expect(GemmaLayout.pattern(layers: 3, period: 1) == [.full, .full, .full])
        #expect(GemmaLayout.pattern(layers: 3, period: 0) == [.sliding, .sliding, .sliding])
    }

    @Test("Gemma3ForConditionalGeneration: Gemma 3's language model, a SigLIP tower and the projector's two tensors")
    func conditionalGeneration() throws {
        var object = JSONObject()
        object["model_type"] = .string("gemma3")
        object["text_config"] = .object(try config("gemma3-tiny"))
        object["vision_config"] = .object(JSONObject([("model_type", .string("siglip_vision_model")), ("hidden_size", .int(32)),
                                                      ("num_hidden_layers", .int(2)), ("num_attention_heads", .int(2)),
                                                      ("intermediate_size", .int(64)), ("image_size", .int(32)), ("patch_size", .int(8)),
                                                      ("vision_use_head", .bool(false))]))
        object["mm_tokens_per_image"] = .int(4)
        let architecture = try read(object)
        #expect(architecture.text == (try read(try config("gemma3-tiny")).text))
        #expect(architecture.vision?.poolingHead == false && architecture.projector?.imageTokens == 4)
        let schema = try Gemma3.schema(architecture)
        #expect(schema.spec(huggingFace: "model.multi_modal_projector.mm_input_projection_weight")?.spec.shape == [32, 64])
        #expect(schema.spec(huggingFace: "model.language_model.layers.0.self_attn.q_norm.weight") != nil)
        #expect(schema.spec(huggingFace: "model.vision_tower.vision_model.encoder.layers.1.mlp.fc2.weight") != nil)
        #expect(schema.tensors.filter { $0.role.tower == .text }.allSatisfy { $0.gguf == nil })
        object["text_config"] = .object(JSONObject([("model_type", .string("llama"))]))
        #expect(throws: ArchitectureError.self) { _ = try read(object) }
    }
}
