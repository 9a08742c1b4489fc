import Foundation
import Testing
import WeightAdapters
import WeightFormats

/// One defect per crafted adapter: each must be refused with its own error case, naming the
/// tensor or key. (Numeric parity with PEFT and llama.cpp comes from Fixtures/generators/lora_adapters.py.)
@Suite struct AdapterRefusalTests {
    static let config = #"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]}"#

    /// A PEFT directory with `tensors` (name, shape; values 0.5) and `config`.
    func peftDirectory(_ tensors: [(String, [Int])], config: String? = AdapterRefusalTests.config) throws -> String {
        let directory = NSTemporaryDirectory() + "adapter-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let config { try config.write(toFile: directory + "/adapter_config.json", atomically: true, encoding: .utf8) }
        let layouts = tensors.map { SafeTensorsTensorLayout(name: $0.0, dtype: .f32, shape: $0.1) }
        let writer = try SafeTensorsWriter(destination: directory + "/adapter_model.safetensors", metadata: nil, tensors: layouts)
        for (_, shape) in tensors {
            let values = [Float](repeating: 0.5, count: shape.reduce(1, *))
            try values.withUnsafeBytes { try writer.write($0) }
        }
        try writer.commit()
        return directory
    }

    let q = "base_model.model.model.layers.0.self_attn.q_proj"

    @Test func readsAPlainAdapter() throws {
        let adapter = try LoRAAdapter.open(peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2])]))
        #expect(adapter.modules.count == 1)
        #expect(adapter.modules[0].name == "model.layers.0.self_attn.q_proj")
        #expect(adapter.modules[0].scale == 2)
        #expect(adapter.parameterCount == 28)
    }

    @Test func refusesAMissingConfiguration() throws {
        let path = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2])], config: nil)
        #expect(throws: AdapterError.missingConfiguration(path: path)) { try LoRAAdapter.open(path) }
    }

    @Test func refusesRankZero() throws {
        let path = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2])],
                                     config: #"{"r": 0, "lora_alpha": 4, "target_modules": ["q_proj"]}"#)
        #expect(throws: AdapterError.self) { try LoRAAdapter.open(path) }
        do { _ = try LoRAAdapter.open(path) } catch let error as AdapterError {
            guard case .invalidConfiguration(_, "r", _) = error else { Issue.record("\(error)"); return }
        }
    }

    @Test func refusesLoRABBiases() throws {
        let path = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2]), (q + ".lora_B.bias", [6])])
        #expect(throws: AdapterError.unknownTensor(path: path, tensor: q + ".lora_B.bias")) { try LoRAAdapter.open(path) }
    }

    @Test func refusesTrainableTokenIndices() throws {
        let path = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2])],
                                     config: #"{"r": 2, "target_modules": ["q_proj"], "trainable_token_indices": [1, 2]}"#)
        #expect(throws: AdapterError.unsupportedFeature(path: path + "/adapter_config.json", feature: "'trainable_token_indices'")) {
            try LoRAAdapter.open(path)
        }
    }

    @Test func refusesUnpairedAndMismatchedRanks() throws {
        let unpaired = try peftDirectory([(q + ".lora_A.weight", [2, 8])])
        #expect(throws: AdapterError.unpairedTensor(path: unpaired, tensor: q + ".lora_A.weight", missing: q + ".lora_B.weight")) {
            try LoRAAdapter.open(unpaired)
        }
        let ranks = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 3])])
        #expect(throws: AdapterError.invalidShape(tensor: q + ".lora_B.weight", shape: [6, 3], reason: "rank 3, but \(q).lora_A.weight has rank 2")) {
            try LoRAAdapter.open(ranks)
        }
    }

    @Test func refusesModulesOutsideTheTargets() throws {
        let k = "base_model.model.model.layers.0.self_attn.k_proj"
        let path = try peftDirectory([(k + ".lora_A.weight", [2, 8]), (k + ".lora_B.weight", [6, 2])])
        #expect(throws: AdapterError.self) { try LoRAAdapter.open(path) }
    }

    @Test func appliesRankAndAlphaPatternsAndRSLoRA() throws {
        let v = "base_model.model.model.layers.0.self_attn.v_proj"
        let path = try peftDirectory(
            [(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2]), (v + ".lora_A.weight", [4, 8]), (v + ".lora_B.weight", [6, 4])],
            config: #"{"r": 2, "lora_alpha": 4, "use_rslora": true, "target_modules": ["q_proj", "v_proj"], "rank_pattern": {"v_proj": 4}, "alpha_pattern": {"layers.0.self_attn.v_proj": 8}}"#)
        let adapter = try LoRAAdapter.open(path)
        #expect(adapter.modules.map(\.rank) == [2, 4])
        #expect(adapter.modules[0].scale == Float(4 / 2.0.squareRoot()))
        #expect(adapter.modules[1].scale == 4)
    }

    /// An adapter GGUF with `metadata` and `tensors` (name, row-major shape; values 0.25).
    func ggufAdapter(_ metadata: [(String, GGUFMetadataValue)], _ tensors: [(String, [Int])]) throws -> String {
        let path = NSTemporaryDirectory() + "adapter-" + UUID().uuidString + ".gguf"
        var list = GGUFMetadataList()
        for (key, value) in metadata { list[key] = value }
        let writer = try GGUFWriter(destination: path, metadata: list, tensors: tensors.map { GGUFTensorLayout(name: $0.0, type: .f32, shape: $0.1) })
        for (_, shape) in tensors {
            let values = [Float](repeating: 0.25, count: shape.reduce(1, *))
            try values.withUnsafeBytes { try writer.write($0) }
        }
        try writer.commit()
        return path
    }

    static let ggufKeys: [(String, GGUFMetadataValue)] = [
        ("general.architecture", .string("qwen2")), ("general.type", .string("adapter")), ("adapter.type", .string("lora")),
        ("adapter.lora.alpha", .float32(8)),
    ]

    @Test func readsAnAdapterGGUFWithLlamaCppsScale() throws {
        let adapter = try LoRAAdapter.open(ggufAdapter(Self.ggufKeys, [("blk.0.attn_q.weight.lora_a", [4, 8]), ("blk.0.attn_q.weight.lora_b", [6, 4])]))
        #expect(adapter.format == .gguf && adapter.namespace == .gguf)
        #expect(adapter.modules.map(\.name) == ["blk.0.attn_q"])
        #expect(adapter.modules[0].scale == 2)   // alpha 8 / rank 4
    }

    @Test func refusesALoRAAndOtherAdapterTypes() throws {
        let tensors = [("blk.0.attn_q.weight.lora_a", [4, 8]), ("blk.0.attn_q.weight.lora_b", [6, 4])]
        let alora = try ggufAdapter(Self.ggufKeys + [("adapter.alora.invocation_tokens", .array(elementType: .uint32, elements: [.uint32(5)]))], tensors)
        #expect(throws: AdapterError.unsupportedFeature(path: alora, feature: "aLoRA ('adapter.alora.invocation_tokens')")) { try LoRAAdapter.open(alora) }
        let other = try ggufAdapter(Self.ggufKeys.map { $0.0 == "adapter.type" ? ($0.0, .string("control_vector")) : $0 }, tensors)
        #expect(throws: AdapterError.self) { try LoRAAdapter.open(other) }
        let model = try ggufAdapter(Self.ggufKeys.map { $0.0 == "general.type" ? ($0.0, .string("model")) : $0 }, tensors)
        #expect(throws: AdapterError.self) { try LoRAAdapter.open(model) }
    }

    @Test func refusesUnknownAndUnpairedGGUFTensors() throws {
        let unknown = try ggufAdapter(Self.ggufKeys, [("blk.0.attn_q.weight.lora_a", [4, 8]), ("blk.0.attn_q.weight.lora_b", [6, 4]),
                                                      ("blk.0.attn_q.weight.lora_c", [4])])
        #expect(throws: AdapterError.unknownTensor(path: unknown, tensor: "blk.0.attn_q.weight.lora_c")) { try LoRAAdapter.open(unknown) }
        let unpaired = try ggufAdapter(Self.ggufKeys, [("blk.0.attn_q.weight.lora_b", [6, 4])])
        #expect(throws: AdapterError.unpairedTensor(path: unpaired, tensor: "blk.0.attn_q.weight.lora_b", missing: "blk.0.attn_q.weight.lora_a")) {
            try LoRAAdapter.open(unpaired)
        }
    }

    @Test func refusesMLXAdaptersWithoutAScaleOrWithAnotherRank() throws {
        let directory = NSTemporaryDirectory() + "mlx-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try SafeTensorsWriter(destination: directory + "/adapters.safetensors", metadata: nil, tensors: [
            SafeTensorsTensorLayout(name: "model.layers.0.self_attn.q_proj.lora_a", dtype: .f32, shape: [8, 2]),
            SafeTensorsTensorLayout(name: "model.layers.0.self_attn.q_proj.lora_b", dtype: .f32, shape: [2, 6]),
        ])
        for count in [16, 12] { try [Float](repeating: 0.5, count: count).withUnsafeBytes { try writer.write($0) } }
        try writer.commit()
        try #"{"fine_tune_type": "lora", "lora_parameters": {"rank": 2}}"#.write(toFile: directory + "/adapter_config.json", atomically: true, encoding: .utf8)
        do { _ = try LoRAAdapter.open(directory); Issue.record("read") } catch let error as AdapterError {
            guard case .invalidConfiguration(_, "lora_parameters.scale", _) = error else { Issue.record("\(error)"); return }
        }
        try #"{"fine_tune_type": "lora", "lora_parameters": {"rank": 4, "scale": 2.0}}"#.write(toFile: directory + "/adapter_config.json", atomically: true, encoding: .utf8)
        do { _ = try LoRAAdapter.open(directory); Issue.record("read") } catch let error as AdapterError {
            guard case .invalidShape(let tensor, _, _) = error else { Issue.record("\(error)"); return }
            #expect(tensor.hasSuffix("lora_a"))
        }
        try #"{"fine_tune_type": "lora", "lora_parameters": {"rank": 2, "scale": 2.0}}"#.write(toFile: directory + "/adapter_config.json", atomically: true, encoding: .utf8)
        let adapter = try LoRAAdapter.open(directory)
        #expect(adapter.modules[0].rank == 2 && adapter.modules[0].inputs == 8 && adapter.modules[0].outputs == 6 && adapter.modules[0].scale == 2)
    }

    let embed = "base_model.model.model.embed_tokens"
    static let embedConfig = #"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["embed_tokens", "q_proj"]}"#

    /// PEFT's lora_embedding_A [r, vocab] and lora_embedding_B [hidden, r] read as the table's
    /// update: B [vocab, r], A [r, hidden].
    @Test func readsAnEmbeddingAdapter() throws {
        let adapter = try LoRAAdapter.open(peftDirectory([(embed + ".lora_embedding_A", [2, 10]), (embed + ".lora_embedding_B", [8, 2])],
                                                         config: Self.embedConfig))
        let module = try #require(adapter.module(named: "model.embed_tokens"))
        #expect(module.rank == 2 && module.outputs == 10 && module.inputs == 8 && module.scale == 2)
        #expect(module.a.count == 16 && module.b.count == 20)
    }

    @Test func refusesUnpairedEmbeddingTensorsAndDoRAOnEmbeddings() throws {
        let unpaired = try peftDirectory([(embed + ".lora_embedding_A", [2, 10])], config: Self.embedConfig)
        #expect(throws: AdapterError.unpairedTensor(path: unpaired, tensor: embed + ".lora_embedding_A", missing: embed + ".lora_embedding_B")) {
            try LoRAAdapter.open(unpaired)
        }
        let mixed = try peftDirectory([(embed + ".lora_embedding_A", [2, 10]), (embed + ".lora_B.weight", [8, 2])], config: Self.embedConfig)
        #expect(throws: AdapterError.unpairedTensor(path: mixed, tensor: embed + ".lora_embedding_A", missing: embed + ".lora_embedding_B")) {
            try LoRAAdapter.open(mixed)
        }
        let dora = try peftDirectory([(embed + ".lora_embedding_A", [2, 10]), (embed + ".lora_embedding_B", [8, 2]),
                                      (embed + ".lora_magnitude_vector", [8])], config: Self.embedConfig)
        do {
            _ = try LoRAAdapter.open(dora)
            Issue.record("DoRA on an embedding was read")
        } catch let error as AdapterError {
            guard case .unsupportedFeature(_, let feature) = error, feature.contains("lora_magnitude_vector") else { Issue.record("\(error)"); return }
        }
    }

    /// A saved `base_layer.weight` is PEFT's copy of an adapted embedding's table; beside any
    /// other module it is an unknown tensor.
    @Test func refusesASavedBaseLayerOfANonEmbedding() throws {
        let path = try peftDirectory([(q + ".lora_A.weight", [2, 8]), (q + ".lora_B.weight", [6, 2]), (q + ".base_layer.weight", [6, 8])])
        #expect(throws: AdapterError.unknownTensor(path: path, tensor: q + ".base_layer.weight")) { try LoRAAdapter.open(path) }
        let table = try LoRAAdapter.open(peftDirectory([(embed + ".lora_embedding_A", [2, 10]), (embed + ".lora_embedding_B", [8, 2]),
                                                        (embed + ".base_layer.weight", [10, 8])], config: Self.embedConfig))
        #expect(table.replacements.map(\.name) == ["model.embed_tokens.weight"])
    }
}
