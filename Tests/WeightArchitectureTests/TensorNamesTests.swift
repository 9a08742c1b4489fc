import Testing
@testable import WeightArchitecture
import WeightFormats

@Suite struct TensorNamesTests {
    @Test func decoderNamesRoundTrip() {
        for hf in ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                   "model.layers.3.self_attn.q_proj.weight", "model.layers.3.self_attn.k_proj.bias",
                   "model.layers.0.self_attn.q_norm.weight", "model.layers.11.mlp.down_proj.weight",
                   "model.layers.1.post_attention_layernorm.weight", "model.layers.2.mlp.gate.weight"] {
            guard case .tensor(let gguf) = TensorNames.ggufPlacement(forHuggingFace: hf) else {
                Issue.record("no GGUF name for \(hf)"); continue
            }
            #expect(TensorNames.huggingFaceName(forGGUF: gguf) == hf)
        }
    }

    @Test func experts() {
        #expect(TensorNames.ggufPlacement(forHuggingFace: "model.layers.4.mlp.experts.7.up_proj.weight")
                == .expertSlice("blk.4.ffn_up_exps.weight", expert: 7))
        #expect(TensorNames.ggufPlacement(forHuggingFace: "model.layers.4.mlp.experts.gate_up_proj")
                == .packedGateUp(gate: "blk.4.ffn_gate_exps.weight", up: "blk.4.ffn_up_exps.weight"))
        #expect(TensorNames.ggufPlacement(forHuggingFace: "model.layers.4.mlp.experts.down_proj")
                == .tensor("blk.4.ffn_down_exps.weight"))
        #expect(TensorNames.huggingFaceExpertNames(forGGUF: "blk.1.ffn_down_exps.weight", expertCount: 2)
                == ["model.layers.1.mlp.experts.0.down_proj.weight", "model.layers.1.mlp.experts.1.down_proj.weight"])
    }

    @Test("Meta names <-> the llama-mtp GGUF layout, against a file gguf-py wrote")
    func metaMTPNames() throws {
        var fixtures = #filePath
        for _ in 0..<3 { fixtures = PathName.directory(of: fixtures) }
        fixtures = PathName.join(fixtures, "Fixtures/mtp")
        let meta = try Checkpoint.open(PathName.join(fixtures, "mtp-4heads"))
        let gguf = try Checkpoint.open(PathName.join(fixtures, "mtp-4heads.f32.gguf"))
        let architecture = try GGUFArchitecture.parse(try #require(gguf.gguf))
        let text = try #require(architecture.text)
        let layerCount = text.layerCount - (text.futureTokens ?? 1) + 1
        #expect(architecture.modelType == "meta_mtp" && text.futureTokens == 4)
        let mapped = meta.tensors.map { MetaTensorNames.ggufName(forMeta: $0.name, layerCount: layerCount) }
        #expect(Set(mapped.compactMap { $0 }) == Set(gguf.tensors.map(\.name)))
        for tensor in meta.tensors {
            let name = MetaTensorNames.ggufName(forMeta: tensor.name, layerCount: layerCount)
            #expect(name.flatMap { MetaTensorNames.metaName(forGGUF: $0, layerCount: layerCount) } == tensor.name)
        }
    }
}
