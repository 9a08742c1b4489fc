import Foundation
import Testing
import WeightFormats

/// `convert ADAPTER adapter.gguf --base BASE` against convert_lora_to_gguf.py (llama-cpp-python
/// 0.3.36, Fixtures/lora/<name>/adapter-f32.gguf), and back to a PEFT directory; llama.cpp's
/// logits with its own adapter GGUF (logits-llama-cpp.npy) against WeightKit running it.
@Suite struct LoRAConversionTests {
    static let converted: [(String, String)] = [("qwen2-plain", "qwen2-tiny"), ("llama-pattern", "llama-tiny"), ("llama-embed", "llama-tiny")]
    /// embed_tokens (token_embd.lora_a transposed) and Phi-3's fused qkv_proj / gate_up_proj
    /// (kept fused by Phi3MiniModel: attn_qkv, ffn_up), against the script in every type.
    static let gaps: [(String, String)] = [("llama-embed", "llama-tiny"), ("phi3-fused", "phi3-tiny")]
    /// Compared with convert_lora_to_gguf.py's output of each type (`--outtype`), and mergekit's
    /// norm weights passed through.
    static let convertedByTheScript: [(String, String, String)] = (converted + [("phi3-fused", "phi3-tiny")]).flatMap { adapter, base in
        ["f32", "f16", "q8_0"].map { (adapter, base, $0) }
    } + [("qwen2-mergekit", "qwen2-tiny", "f32")]

    /// The metadata keys convert_lora_to_gguf.py writes, and every tensor, must be equal.
    @Test("the adapter GGUF equals convert_lora_to_gguf.py's, tensor for tensor", arguments: convertedByTheScript)
    func equalToLlamaCpp(adapter: String, base: String, type: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/adapter.gguf"
        let typeArguments = type == "f32" ? [] : ["--type", type]
        let result = try CLI.run(["convert", CLI.fixture("lora/" + adapter), out, "--base", CLI.fixture("models/" + base)] + typeArguments)
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try Checkpoint.open(out), theirs = try Checkpoint.open(CLI.fixture("lora/\(adapter)/adapter-\(type).gguf"))
        let theirKeys = try #require(theirs.gguf).metadata.entries.map(\.key)
        #expect(theirKeys.contains("adapter.lora.alpha") && theirKeys.contains("general.architecture"))
        #expect(try #require(ours.gguf).metadata.entries.map(\.key) == theirKeys)
        for key in theirKeys {
            let mine = try #require(ours.gguf!.metadata[key]), reference = try #require(theirs.gguf!.metadata[key])
            #expect(mine.type == reference.type && mine.stringValue == reference.stringValue && mine.doubleValue == reference.doubleValue,
                    "\(key)")
        }
        #expect(ours.tensors.map(\.name) == theirs.tensors.map(\.name))
        #expect(!theirs.tensors.isEmpty)
        for tensor in theirs.tensors {
            let mine = try #require(ours.tensor(named: tensor.name))
            #expect(mine.shape == tensor.shape && mine.dtype == tensor.dtype, "\(tensor.name)")
            #expect(Array(mine.bytes) == Array(tensor.bytes), "\(tensor.name) values")
        }
    }

    @Test("llama.cpp's adapter GGUF on llama.cpp's base: WeightKit gives llama.cpp's and PEFT's logits", arguments: converted)
    func llamaCppAdapter(adapter: String, base: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logits = try LoRACommandTests.logits(CLI.fixture("models/\(base)-gguf/\(base)-f32.gguf"),
                                                 ["--lora", CLI.fixture("lora/\(adapter)/adapter-f32.gguf")], in: directory)
        #expect(try LoRACommandTests.relativeL2(logits, "lora/\(adapter)/logits-llama-cpp.npy") <= 1e-4)
        #expect(try LoRACommandTests.relativeL2(logits, "lora/\(adapter)/logits-unmerged.npy") <= 1e-4)
        // The same GGUF adapter on the Hugging Face base (the Q/K permutation undone), unmerged and merged.
        let onHF = try LoRACommandTests.logits(CLI.fixture("models/" + base), ["--lora", CLI.fixture("lora/\(adapter)/adapter-f32.gguf")],
                                               in: directory)
        #expect(try LoRACommandTests.relativeL2(onHF, "lora/\(adapter)/logits-llama-cpp.npy") <= 1e-4)
        let merged = directory + "/merged"
        #expect(try CLI.run(["convert", CLI.fixture("models/" + base), merged, "--lora", CLI.fixture("lora/\(adapter)/adapter-f32.gguf")]).status == 0)
        #expect(try LoRACommandTests.relativeL2(try LoRACommandTests.logits(merged, [], in: directory), "lora/\(adapter)/logits-merged.npy") <= 1e-4)
    }

    /// rsLoRA and alpha_pattern have no place in llama.cpp's one alpha: folded into lora_b, the
    /// GGUF adapter gives PEFT's logits on a GGUF base; written back as PEFT, it gives them too.
    @Test("folded scales and the way back to PEFT", arguments: [("qwen2-rslora", "qwen2-tiny"), ("llama-alpha-pattern", "llama-tiny"),
                                                                ("llama-pattern", "llama-tiny"), ("qwen2-mlx", "qwen2-tiny"),
                                                                ("qwen2-mergekit", "qwen2-tiny")])
    func foldedAndBack(adapter: String, base: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/adapter.gguf", peft = directory + "/peft"
        let expected = "lora/\(adapter)/logits-unmerged.npy"
        #expect(try CLI.run(["convert", CLI.fixture("lora/" + adapter), gguf, "--base", CLI.fixture("models/" + base)]).status == 0)
        let onGGUF = try LoRACommandTests.logits(CLI.fixture("models/\(base)-gguf/\(base)-f32.gguf"), ["--lora", gguf], in: directory)
        #expect(try LoRACommandTests.relativeL2(onGGUF, expected) <= 1e-4)
        let back = try CLI.run(["convert", gguf, peft, "--base", CLI.fixture("models/" + base)])
        #expect(back.status == 0, "\(back.stderr)")
        let onHF = try LoRACommandTests.logits(CLI.fixture("models/" + base), ["--lora", peft], in: directory)
        #expect(try LoRACommandTests.relativeL2(onHF, expected) <= 1e-4)
    }

    /// The embedding adapter's PEFT directory holds the whole table PEFT saves beside an adapted
    /// embedding (`base_layer.weight`, the base's values): unmerged on the Hugging Face base and on
    /// llama.cpp's GGUF of it, merged, and through WeightKit's adapter GGUF and back to PEFT.
    @Test("embed_tokens and fused projections: run, merge, GGUF and back give PEFT's logits", arguments: gaps)
    func embeddingsAndFusedProjections(adapter: String, base: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let unmerged = "lora/\(adapter)/logits-unmerged.npy"
        let onHF = try LoRACommandTests.logits(CLI.fixture("models/" + base), ["--lora", CLI.fixture("lora/" + adapter)], in: directory)
        #expect(try LoRACommandTests.relativeL2(onHF, unmerged) <= 1e-4)
        #expect(try LoRACommandTests.relativeL2(CLI.fixture("models/\(base)/logits.npy"), unmerged) > 0.1, "the adapter matters")
        // The script's adapter GGUF on the Hugging Face base (names and the Q/K order mapped back).
        let scriptOnHF = try LoRACommandTests.logits(CLI.fixture("models/" + base), ["--lora", CLI.fixture("lora/\(adapter)/adapter-f32.gguf")],
                                                     in: directory)
        #expect(try LoRACommandTests.relativeL2(scriptOnHF, unmerged) <= 1e-4)
        let merged = directory + "/merged"
        #expect(try CLI.run(["convert", CLI.fixture("models/" + base), merged, "--lora", CLI.fixture("lora/" + adapter), "--quiet"]).status == 0)
        #expect(try LoRACommandTests.relativeL2(try LoRACommandTests.logits(merged, [], in: directory), "lora/\(adapter)/logits-merged.npy") <= 1e-4)
        let gguf = directory + "/adapter.gguf", peft = directory + "/peft"
        let toGGUF = try CLI.run(["convert", CLI.fixture("lora/" + adapter), gguf, "--base", CLI.fixture("models/" + base)])
        #expect(toGGUF.status == 0, "\(toGGUF.stderr)")
        let back = try CLI.run(["convert", gguf, peft, "--base", CLI.fixture("models/" + base)])
        #expect(back.status == 0, "\(back.stderr)")
        let backOnHF = try LoRACommandTests.logits(CLI.fixture("models/" + base), ["--lora", peft], in: directory)
        #expect(try LoRACommandTests.relativeL2(backOnHF, unmerged) <= 1e-4)
    }

    /// A LoRA on lm_head of a tied base (qwen2-tiny): llama.cpp has no output tensor to adapt, so
    /// the adapter GGUF is an error; merging it is refused too (the update would change the
    /// embeddings), unlike a modules_to_save replacement.
    @Test func aLoRAOnTheHeadOfATiedBaseIsRefused() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let adapter = directory + "/head"
        try FileManager.default.createDirectory(atPath: adapter, withIntermediateDirectories: true)
        try #"{"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["lm_head"]}"#
            .write(toFile: adapter + "/adapter_config.json", atomically: true, encoding: .utf8)
        let tensors = [("base_model.model.lm_head.lora_A.weight", [2, 64]), ("base_model.model.lm_head.lora_B.weight", [320, 2])]
        let writer = try SafeTensorsWriter(destination: adapter + "/adapter_model.safetensors", metadata: nil,
                                           tensors: tensors.map { SafeTensorsTensorLayout(name: $0.0, dtype: .f32, shape: $0.1) })
        for (_, shape) in tensors { try [Float](repeating: 0.25, count: shape.reduce(1, *)).withUnsafeBytes { try writer.write($0) } }
        try writer.commit()
        let gguf = try CLI.run(["convert", adapter, directory + "/adapter.gguf", "--base", CLI.fixture("models/qwen2-tiny")])
        #expect(gguf.status == 1)
        #expect(gguf.stderr.contains("lm_head") && gguf.stderr.contains("ties to its token embeddings"), "\(gguf.stderr)")
        let merge = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), directory + "/merged", "--lora", adapter])
        #expect(merge.status == 1)
        #expect(merge.stderr.contains("ties to its token embeddings"), "\(merge.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["head"])
    }

    /// PEFT's saved embedding table (`base_layer.weight`) is dropped for GGUF when it is the
    /// base's, as the script skips it; a table with other rows (new tokens) is refused.
    @Test func aChangedEmbeddingTableIsRefusedForGGUF() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let adapter = directory + "/changed"
        try FileManager.default.createDirectory(atPath: adapter, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.fixture("lora/llama-embed/adapter_config.json"), toPath: adapter + "/adapter_config.json")
        let source = try Checkpoint.open(CLI.fixture("lora/llama-embed/adapter_model.safetensors"))
        let table = "base_model.model.model.embed_tokens.base_layer.weight"
        #expect(source.tensor(named: table) != nil)
        let writer = try SafeTensorsWriter(destination: adapter + "/adapter_model.safetensors", metadata: nil,
                                           tensors: source.tensors.map { SafeTensorsTensorLayout(name: $0.name, dtype: .f32, shape: $0.shape) })
        for view in source.tensors {
            var values = try view.floats()
            if view.name == table { values[0] += 1 }
            try values.withUnsafeBytes { try writer.write($0) }
        }
        try writer.commit()
        let out = directory + "/adapter.gguf"
        let result = try CLI.run(["convert", adapter, out, "--base", CLI.fixture("models/llama-tiny")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("merge instead") && result.stderr.contains("embed_tokens"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("mergekit's norm weights: the script's adapter GGUF on a GGUF base gives the expected logits")
    func mergekitNorms() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logits = try LoRACommandTests.logits(CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"),
                                                 ["--lora", CLI.fixture("lora/qwen2-mergekit/adapter-f32.gguf")], in: directory)
        #expect(try LoRACommandTests.relativeL2(logits, "lora/qwen2-mergekit/logits-unmerged.npy") <= 1e-4)
    }

    @Test("DoRA and modules_to_save are refused for GGUF with 'merge instead'; nothing written")
    func refusals() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/adapter.gguf"
        for adapter in ["qwen3-dora", "qwen3-save"] {
            let result = try CLI.run(["convert", CLI.fixture("lora/" + adapter), out, "--base", CLI.fixture("models/qwen3-tiny")])
            #expect(result.status == 1)
            #expect(result.stderr.contains("merge instead"), "\(result.stderr)")
        }
        let noBase = try CLI.run(["convert", CLI.fixture("lora/qwen2-plain"), out])
        #expect(noBase.status == 1 && noBase.stderr.contains("--base"))
        let wrongBase = try CLI.run(["convert", CLI.fixture("lora/qwen2-plain"), out, "--base", CLI.fixture("models/llama-tiny")])
        #expect(wrongBase.status == 1 && wrongBase.stderr.contains("but the base's"), "\(wrongBase.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}

/// Meta multi-token prediction: its blocks are the decoder's, so adapters apply to the trunk and
/// to the heads. PEFT's reference: Fixtures/lora/mtp-lora (lora_gaps.py), a PEFT adapter on the
/// independent PyTorch implementation of the family with mtp-4heads' weights, its logits of every
/// head. Beside it, unmerged `run --lora` is held to the merge (`convert --lora`, a separate code
/// path) on an adapter GGUF written here with random values.
@Suite struct MetaMTPAdapterTests {
    @Test("a PEFT adapter on the PyTorch Meta-MTP model: run --lora and the merge give its logits on every head",
          arguments: ["mtp/mtp-4heads", "mtp/mtp-4heads.f32.gguf"])
    func peftReference(base: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reference = try JSON.parse(FileSystem.readFile(CLI.fixture("lora/mtp-lora/reference.json")))
        let prompt = try #require(reference["prompt"]?.arrayValue?.compactMap { $0.intValue })
        #expect(prompt.count > 1)
        let tokens = prompt.map(String.init).joined(separator: ",")
        let expected = "lora/mtp-lora/logits-unmerged.npy"
        let unmerged = try LoRACommandTests.logits(CLI.fixture(base), ["--lora", CLI.fixture("lora/mtp-lora")], in: directory, tokens: tokens)
        #expect(try LoRACommandTests.relativeL2(unmerged, expected) <= 1e-4)
        #expect(try LoRACommandTests.relativeL2(CLI.fixture("mtp/mtp-4heads/logits.npy"), expected) > 0.1, "the adapter matters")
        let merged = directory + "/merged.gguf"
        let conversion = try CLI.run(["convert", CLI.fixture(base), merged, "--lora", CLI.fixture("lora/mtp-lora"), "--quiet"])
        #expect(conversion.status == 0, "\(conversion.stderr)")
        #expect(try LoRACommandTests.relativeL2(try LoRACommandTests.logits(merged, [], in: directory, tokens: tokens), expected) <= 1e-4)
    }

    @Test func unmergedEqualsMergedOnTrunkAndHeads() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let adapter = directory + "/mtp-lora.gguf"
        var metadata = GGUFMetadataList()
        metadata["general.architecture"] = .string("llama-mtp")
        metadata["general.type"] = .string("adapter")
        metadata["adapter.type"] = .string("lora")
        metadata["adapter.lora.alpha"] = .float32(4)
        // blk.0 is in the trunk, blk.3 one of the heads; ranks 2; lora_a [r, in], lora_b [out, r].
        let tensors: [(String, [Int])] = [("blk.0.attn_q.weight.lora_a", [2, 64]), ("blk.0.attn_q.weight.lora_b", [64, 2]),
                                          ("blk.3.ffn_down.weight.lora_a", [2, 192]), ("blk.3.ffn_down.weight.lora_b", [64, 2])]
        let writer = try GGUFWriter(destination: adapter, metadata: metadata, tensors: tensors.map { GGUFTensorLayout(name: $0.0, type: .f32, shape: $0.1) })
        var state: UInt32 = 12345
        for (_, shape) in tensors {
            let values = (0..<shape.reduce(1, *)).map { _ -> Float in
                state = state &* 1_664_525 &+ 1_013_904_223
                return (Float(state >> 8) / Float(1 << 24) - 0.5) * 0.4
            }
            try values.withUnsafeBytes { try writer.write($0) }
        }
        try writer.commit()
        let base = CLI.fixture("mtp/mtp-4heads.f32.gguf")
        let tokens = "5,17,200,3,99,250,41,8"
        let unmerged = try LoRACommandTests.logits(base, ["--lora", adapter], in: directory, tokens: tokens)
        let merged = directory + "/merged.gguf"
        let conversion = try CLI.run(["convert", base, merged, "--lora", adapter, "--quiet"])
        #expect(conversion.status == 0, "\(conversion.stderr)")
        let mergedLogits = try LoRACommandTests.logits(merged, [], in: directory, tokens: tokens)
        let plain = try LoRACommandTests.logits(base, [], in: directory, tokens: tokens)
        let a = try NPY.read(unmerged).values, b = try NPY.read(mergedLogits).values, c = try NPY.read(plain).values
        func relative(_ x: [Float], _ y: [Float]) -> Double {
            let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            return (difference / y.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
        }
        #expect(a.count == b.count && !a.isEmpty)
        #expect(relative(a, b) <= 1e-5, "unmerged vs merged")
        #expect(relative(c, b) > 1e-3, "the adapter changes the logits")
    }
}
