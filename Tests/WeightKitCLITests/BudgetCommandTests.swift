import Foundation
import Testing
import WeightFormats

/// `weightkit budget`: the JSON contract of issue 4, expert LM sizes (issue 8), errors.
@Suite struct BudgetCommandTests {
    static let qwen3 = CLI.fixture("budget/configs/qwen3-8b")

    @Test("--json: the contract's keys, transformers' total and seed 000's LoRA setting")
    func jsonContract() throws {
        let references = try CLI.json("budget/parameters.json")
        let reference = try #require(references["published"]?["qwen3-8b"])
        let result = try CLI.run(["budget", Self.qwen3, "--json", "--lora-rank", "16", "--lora-targets", "q,k,v,o",
                                  "--memory", "24GiB", "--bandwidth", "100", "--ctx", "4096,32768"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json.objectValue?.keys == ["architecture", "parameters", "weights", "kv_cache", "flops_per_token", "lora", "fits",
                                           "decode_ceiling_tokens_per_second"])
        #expect(json["parameters"]?["total"] == reference["total"])
        for key in ["total", "active", "non_embedding", "by_component"] { #expect(json["parameters"]?[key] != nil, "\(key)") }
        for key in ["bytes", "by_dtype", "as_type"] { #expect(json["weights"]?[key] != nil, "\(key)") }
        for type in ["f32", "f16", "q8_0", "q4_k", "q6_k", "iq4_nl"] { #expect(json["weights"]?["as_type"]?[type]?.intValue != nil, "\(type)") }
        let seedCase = try #require(reference["lora"]?.arrayValue?.first { $0["rank"]?.intValue == 16 })
        #expect(json["lora"]?["trainable"] == seedCase["trainable"])
        #expect(json["lora"]?.objectValue?.keys == ["rank", "targets", "trainable", "nf4_base_bytes", "optimizer_bytes"])
        #expect(json["fits"]?["fits"]?.boolValue != nil)
        #expect(json["fits"]?["max_ctx"]?.intValue != nil)
        #expect(json["kv_cache"]?["contexts"]?.arrayValue?.compactMap { $0["ctx"]?.intValue } == [4096, 32768])
        #expect(json["flops_per_token"]?["decode"]?.arrayValue?.count == 2)
        #expect(json["kv_cache"]?["type_k"]?.stringValue == "f16")
    }

    @Test("kv_cache.bytes is bytes_per_token x ctx x parallel")
    func kvCacheProduct() throws {
        let result = try CLI.run(["budget", Self.qwen3, "--json", "--ctx", "256,1000,40960", "--parallel", "3", "--kv-type-k", "q8_0", "--kv-type-v", "q4_0"])
        #expect(result.status == 0, "\(result.stderr)")
        let kv = try #require(result.json?["kv_cache"])
        let perToken = try #require(kv["bytes_per_token"]?.intValue)
        #expect(kv["type_k"]?.stringValue == "q8_0")
        #expect(kv["type_v"]?.stringValue == "q4_0")
        for entry in kv["contexts"]?.arrayValue ?? [] {
            let ctx = try #require(entry["ctx"]?.intValue)
            #expect(entry["bytes"]?.intValue == perToken * ctx * 3)
            #expect((entry["llama_cpp_bytes"]?.intValue ?? 0) >= perToken * ctx * 3)
        }
    }

    @Test("expert LM directory: seed 002's get_model_config sizes (parameters, FP32/FP16/INT8 memory)")
    func expertModelConfig() throws {
        let reference = try #require(try CLI.json("experts/seed-002-configurations.json")["test"])
        let parameters = try #require(reference["parameters"]?.intValue)
        let result = try CLI.run(["budget", CLI.fixture("budget/configs/expert-lm-test"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(result.json)
        #expect(json["parameters"]?["total"]?.intValue == parameters)
        #expect(json["parameters"]?["non_embedding"] == reference["non_embedding_parameters"])
        #expect(json["weights"]?["as_dtype"]?["fp32"]?.intValue == parameters * 4)
        #expect(json["weights"]?["as_dtype"]?["fp16"]?.intValue == parameters * 2)
        #expect(json["weights"]?["as_dtype"]?["int8"]?.intValue == parameters)
        let text = try CLI.run(["budget", CLI.fixture("budget/configs/expert-lm-test")])
        #expect(text.stdout.contains("FP32 111.22 MiB"))
    }

    @Test("text output: aligned tables")
    func textOutput() throws {
        let result = try CLI.run(["budget", CLI.fixture("models/qwen3moe-tiny"), "--ctx", "64"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Parameters"))
        #expect(result.stdout.contains("active per token"))
        #expect(result.stdout.contains("KV cache"))
    }

    @Test("--plot writes an SVG with both panels")
    func plot() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/budget.svg"
        let result = try CLI.run(["budget", Self.qwen3, "--plot", output, "--memory", "24GiB"])
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOfFile: output, encoding: .utf8)
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("KV cache"))
        #expect(svg.contains("Parameters by component"))
        #expect(svg.hasSuffix("</svg>\n"))
    }

    @Test("bad flags: a message naming the option and a non-zero exit", arguments: [
        (["--ctx", "0"], "--ctx"), (["--ctx", "4096,x"], "--ctx"), (["--kv-type", "xyz"], "--kv-type"),
        (["--kv-type-v", "q4_k"], "--kv-type-v"), (["--memory", "12XB"], "--memory"), (["--memory", "lots"], "--memory"),
        (["--parallel", "0"], "--parallel"), (["--lora-rank", "8", "--lora-targets", "q,qq"], "--lora-targets"),
        (["--lora-rank", "0"], "--lora-rank"), (["--bandwidth", "-5"], "--bandwidth"),
    ])
    func badFlags(arguments: [String], option: String) throws {
        let result = try CLI.run(["budget", Self.qwen3] + arguments)
        #expect(result.status != 0)
        #expect(result.stderr.contains(option), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test("bad configurations: unknown model type, malformed JSON, missing keys name the file")
    func badConfigurations() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, String, String)] = [
            ("unknown.json", #"{"model_type": "gpt_neo", "hidden_size": 8}"#, "gpt_neo"),
            ("malformed.json", #"{"model_type": "llama", "#, "malformed/config.json"),
            ("params.json", #"{"dim": 64, "n_layers": 2}"#, "n_heads"),
            ("wrongtype.json", #"{"model_type": "qwen3", "num_hidden_layers": "many"}"#, "num_hidden_layers"),
        ]
        for (name, text, expected) in cases {
            let sub = directory + "/" + name.replacingOccurrences(of: ".json", with: "")
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
            let file = sub + "/" + (name == "params.json" ? "params.json" : "config.json")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CLI.run(["budget", file])
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.hasPrefix("error: "), "\(name): \(result.stderr)")
            #expect(result.stderr.contains(expected), "\(name): \(result.stderr)")
        }
    }
}
