import Foundation
import Testing
import WeightFormats

/// `run --lora`, `run --lora-scaled` and `convert BASE OUT --lora` against PEFT's logits
/// (Fixtures/generators/lora_adapters.py): unmerged, and merged into every kind of base.
@Suite struct LoRACommandTests {
    static let prompt = "5,17,256,3,99,250,41,8,300,12,77,150"

    static func relativeL2(_ file: String, _ reference: String) throws -> Double {
        let a = try NPY.read(file).values, b = try NPY.read(CLI.fixture(reference)).values
        guard a.count == b.count, !b.isEmpty else { return .infinity }
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        return (difference / norm).squareRoot()
    }

    /// `run MODEL --tokens … --logits OUT` plus `extra`; the logits' file.
    static func logits(_ model: String, _ extra: [String], in directory: String, tokens: String = prompt) throws -> String {
        let out = directory + "/logits-\(UUID().uuidString).npy"
        let result = try CLI.run(["run", model, "--tokens", tokens, "--logits", out] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return out
    }

    @Test func runAppliesAdaptersInOrderWithTheirScales() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = CLI.fixture("models/llama-tiny"), adapter = CLI.fixture("lora/llama-pattern")
        let whole = try Self.logits(base, ["--lora", adapter], in: directory)
        #expect(try Self.relativeL2(whole, "lora/llama-pattern/logits-unmerged.npy") <= 1e-4)
        let halves = try Self.logits(base, ["--lora-scaled", adapter, "0.5", "--lora-scaled", adapter, "0.5"], in: directory)
        #expect(try Self.relativeL2(halves, "lora/llama-pattern/logits-unmerged.npy") <= 1e-4)
        let none = try Self.logits(base, ["--lora-scaled", adapter, "0"], in: directory)
        #expect(try Self.relativeL2(none, "models/llama-tiny/logits.npy") <= 1e-5)
    }

    /// (adapter, base, source inside Fixtures/models, destination name, bound).
    static let merges: [(String, String, String, String, Double)] = [
        ("qwen2-plain", "qwen2-tiny", "qwen2-tiny", "merged", 1e-4),
        ("llama-pattern", "llama-tiny", "llama-tiny", "merged.gguf", 1e-4),
        ("llama-alpha-pattern", "llama-tiny", "llama-tiny-gguf/llama-tiny-f32.gguf", "merged.gguf", 1e-4),
        ("qwen3-dora", "qwen3-tiny", "qwen3-tiny", "merged.safetensors", 1e-4),
        ("qwen3-save", "qwen3-tiny", "qwen3-tiny-gguf/qwen3-tiny-f32.gguf", "merged", 1e-4),
        ("qwen2-rslora", "qwen2-tiny", "qwen2-tiny-gguf/qwen2-tiny-f16.gguf", "merged.gguf", 5e-3),
        ("qwen3-all-linear", "qwen3-tiny", "qwen3-tiny", "merged.gguf", 1e-4),
        ("qwen2-mergekit", "qwen2-tiny", "qwen2-tiny-gguf/qwen2-tiny-f32.gguf", "merged.gguf", 1e-4),
        // An embedding adapter on Gemma 2 (embeddings scaled by √hidden, tied head), merged as PEFT does.
        ("gemma2-embed", "gemma2-tiny", "gemma2-tiny", "merged", 1e-4),
        ("gemma2-embed", "gemma2-tiny", "gemma2-tiny-gguf/gemma2-tiny-f32.gguf", "merged.gguf", 1e-4),
        // lm_head replaced on the tied qwen2-tiny: the merged model gets an output head of its own.
        ("qwen2-save-tied", "qwen2-tiny", "qwen2-tiny", "merged", 1e-4),
        ("qwen2-save-tied", "qwen2-tiny", "qwen2-tiny", "merged.gguf", 1e-4),
        ("qwen2-save-tied", "qwen2-tiny", "qwen2-tiny-gguf/qwen2-tiny-f32.gguf", "merged", 1e-4),
        ("qwen2-save-tied", "qwen2-tiny", "qwen2-tiny-gguf/qwen2-tiny-f32.gguf", "merged.gguf", 1e-4),
    ]
    /// Adapters whose merged reference is PEFT's unmerged logits (PEFT cannot load them to merge).
    static let unmergedReference: Set<String> = ["qwen2-mergekit"]
    /// Adapters whose merged reference is PEFT's merge_and_unload + save_pretrained, loaded back
    /// by transformers (logits-saved.npy).
    static let savedReference: Set<String> = ["qwen2-save-tied"]

    @Test("convert --lora merges as PEFT's merge_and_unload", arguments: merges)
    func merge(adapter: String, base: String, source: String, destination: String, bound: Double) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/" + destination
        // A tiny base's made-up vocabulary has no pre-tokenizer hash llama.cpp knows.
        let naming = destination.hasSuffix(".gguf") && !source.hasSuffix(".gguf") ? ["--tokenizer-pre", "default"] : []
        let result = try CLI.run(["convert", CLI.fixture("models/" + source), out, "--lora", CLI.fixture("lora/" + adapter), "--quiet"] + naming)
        #expect(result.status == 0, "\(result.stderr)")
        if destination.hasSuffix(".safetensors") {
            // A bare safetensors file runs beside its config.json.
            try FileManager.default.copyItem(atPath: CLI.fixture("models/\(base)/config.json"), toPath: directory + "/config.json")
        }
        let logits = try Self.logits(out, [], in: directory)
        let reference = Self.unmergedReference.contains(adapter) ? "unmerged" : Self.savedReference.contains(adapter) ? "saved" : "merged"
        let error = try Self.relativeL2(logits, "lora/\(adapter)/logits-\(reference).npy")
        #expect(error <= bound, "\(adapter) into \(source) → \(destination): relative L2 \(error)")
    }

    /// PEFT's merge keeps a saved lm_head apart from the tied embeddings; so does the merged
    /// directory: its own lm_head.weight (the adapter's values) and `tie_word_embeddings: false`.
    @Test func mergedTiedBaseGetsItsOwnHead() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/merged"
        let result = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), out, "--lora", CLI.fixture("lora/qwen2-save-tied"), "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let config = try JSON.parse(FileSystem.readFile(out + "/config.json"))
        #expect(config["tie_word_embeddings"]?.boolValue == false)
        let head = try #require(try Checkpoint.open(out).tensor(named: "lm_head.weight"))
        let saved = try #require(try Checkpoint.open(CLI.fixture("lora/qwen2-save-tied/adapter_model.safetensors"))
            .tensor(named: "base_model.model.lm_head.weight"))
        #expect(try head.floats() == saved.floats())
        let gguf = directory + "/merged.gguf"
        #expect(try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), gguf, "--lora", CLI.fixture("lora/qwen2-save-tied"),
                             "--tokenizer-pre", "default", "--quiet"]).status == 0)
        #expect(try Checkpoint.open(gguf).tensor(named: "output.weight")?.shape == head.shape)
    }

    @Test("a quantised base's merged tensors become F16, or keep their type with --type keep")
    func quantisedBase() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf"), adapter = CLI.fixture("lora/qwen2-plain")
        for (name, extra, mergedType, bound) in [("f16.gguf", [String](), GGMLType.f16, 3e-2), ("keep.gguf", ["--type", "keep"], .q8_0, 6e-2)] {
            let out = directory + "/" + name
            let result = try CLI.run(["convert", source, out, "--lora", adapter, "--quiet"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            let checkpoint = try Checkpoint.open(out)
            #expect(checkpoint.tensor(named: "blk.0.attn_q.weight")?.dtype.ggmlType == mergedType)
            #expect(checkpoint.tensor(named: "blk.0.ffn_up.weight")?.dtype.ggmlType == .q8_0, "a tensor no adapter changes is copied")
            let error = try Self.relativeL2(try Self.logits(out, [], in: directory), "lora/qwen2-plain/logits-merged.npy")
            #expect(error <= bound, "\(name): relative L2 \(error)")
        }
    }

    @Test func encodeImageAppliesAdaptersToTheTower() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/hidden.npy"
        let result = try CLI.run(["encode-image", CLI.fixture("vision/clip-vision-tiny"), "--pixels",
                                  CLI.fixture("vision/clip-vision-tiny/reference/pixels.npy"), "--out", out,
                                  "--lora", CLI.fixture("lora/clip-vision-lora")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.relativeL2(out, "lora/clip-vision-lora/last_hidden.npy") <= 1e-4)
    }

    @Test("bad adapters and arguments: one line on stderr, exit 1, nothing written")
    func refusals() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out.gguf"
        let noConfig = directory + "/no-config"
        try FileManager.default.createDirectory(atPath: noConfig, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: CLI.fixture("lora/qwen2-plain/adapter_model.safetensors"),
                                         toPath: noConfig + "/adapter_model.safetensors")
        let cases: [([String], String)] = [
            (["convert", CLI.fixture("models/qwen3-tiny"), out, "--lora", CLI.fixture("lora/qwen2-plain")], "but the base's"),
            (["run", CLI.fixture("models/qwen3-tiny"), "--tokens", "1,2", "--logits", directory + "/l.npy", "--lora",
              CLI.fixture("lora/qwen2-plain")], "but the base's"),
            (["convert", CLI.fixture("models/qwen2-tiny"), out, "--lora", noConfig], "adapter_config.json"),
            (["convert", CLI.fixture("models/qwen2-tiny-gguf/qwen2-tiny-q8_0.gguf"), out, "--lora", CLI.fixture("lora/qwen2-plain"),
              "--type", "q4_k_m"], "--lora"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(arguments)
            #expect(result.status == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1)
        }
        let usage = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), out, "--lora-scaled", CLI.fixture("lora/qwen2-plain")])
        #expect(usage.status != 0 && usage.stderr.contains("--lora-scaled"))
        let keep = try CLI.run(["convert", CLI.fixture("models/qwen2-tiny"), out, "--type", "keep"])
        #expect(keep.status == 1 && keep.stderr.contains("--type keep"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["no-config"])
    }
}
