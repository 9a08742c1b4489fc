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
}
