import Testing
@testable import WeightArchitecture
import WeightFormats

/// The families' tensor schemas: one Hugging Face <-> GGUF name map per family.
@Suite struct TensorSchemaTests {
    /// A small Qwen3-MoE description: q/k norms, a router and experts from layer 2 on.
    static func moe() throws -> ModelArchitecture {
        let json = try JSON.parse(Array("""
            {"model_type": "qwen3_moe", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
             "num_hidden_layers": 12, "intermediate_size": 96, "moe_intermediate_size": 32, "num_experts": 8,
             "num_experts_per_tok": 2, "mlp_only_layers": [0, 1, 3, 11], "vocab_size": 100}
            """.utf8))
        return try ModelFamilies.architecture(huggingFace: json, file: "config.json")
    }

    @Test func decoderNamesRoundTrip() throws {
        let schema = try Qwen3MoE.schema(try Self.moe())
        for hf in ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
                   "model.layers.3.self_attn.q_proj.weight", "model.layers.0.self_attn.q_norm.weight",
                   "model.layers.11.mlp.down_proj.weight", "model.layers.1.post_attention_layernorm.weight",
                   "model.layers.2.mlp.gate.weight"] {
            guard let (spec, expert) = schema.spec(huggingFace: hf), let gguf = spec.gguf else {
                Issue.record("no GGUF name for \(hf)"); continue
            }
            #expect(expert == nil)
            #expect(schema.spec(gguf: gguf)?.huggingFaceName == hf, "\(hf) -> \(gguf)")
        }
        #expect(schema.spec(huggingFace: "model.layers.2.mlp.gate.weight")?.spec.gguf == "blk.2.ffn_gate_inp.weight")
    }

    @Test func experts() throws {
        let schema = try Qwen3MoE.schema(try Self.moe())
        let up = try #require(schema.spec(huggingFace: "model.layers.4.mlp.experts.7.up_proj.weight"))
        #expect(up.spec.gguf == "blk.4.ffn_up_exps.weight" && up.expert == 7)
        let packed = try #require(schema.spec(huggingFace: "model.layers.4.mlp.experts.gate_up_proj"))
        #expect(packed.spec.gguf == "blk.4.ffn_gate_exps.weight" && packed.expert == nil)
        guard case .experts(let gateLayout) = packed.spec.huggingFace, case .experts(let upLayout) = up.spec.huggingFace else {
            Issue.record("experts without an expert layout"); return
        }
        #expect(gateLayout.packed == PackedExperts(name: "model.layers.4.mlp.experts.gate_up_proj", part: .firstHalf))
        #expect(upLayout.packed == PackedExperts(name: "model.layers.4.mlp.experts.gate_up_proj", part: .secondHalf))
        let down = try #require(schema.spec(huggingFace: "model.layers.4.mlp.experts.down_proj"))
        #expect(down.spec.gguf == "blk.4.ffn_down_exps.weight")
        // Layer 1 is in mlp_only_layers: a dense MLP, no experts.
        #expect(schema.spec(gguf: "blk.1.ffn_down_exps.weight") == nil)
        #expect(schema.spec(gguf: "blk.1.ffn_down.weight")?.huggingFaceName == "model.layers.1.mlp.down_proj.weight")
        guard case .experts(let layer2)? = schema.spec(gguf: "blk.2.ffn_down_exps.weight")?.huggingFace else {
            Issue.record("no experts in layer 2"); return
        }
        #expect(layer2.perExpert.prefix(2) == ["model.layers.2.mlp.experts.0.down_proj.weight", "model.layers.2.mlp.experts.1.down_proj.weight"])
        #expect(layer2.perExpert.count == 8)
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
        #expect(architecture.modelType == "meta_mtp" && text.futureTokens == 4)
        let schema = try MetaMTP.schema(architecture)
        let mapped = meta.tensors.map { schema.spec(huggingFace: $0.name)?.spec.gguf }
        #expect(!mapped.contains(nil))
        #expect(Set(mapped.compactMap { $0 }) == Set(gguf.tensors.map(\.name)))
        for tensor in meta.tensors {
            let name = schema.spec(huggingFace: tensor.name)?.spec.gguf
            #expect(name.flatMap { schema.spec(gguf: $0)?.huggingFaceName } == tensor.name)
        }
    }
}
