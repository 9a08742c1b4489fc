import Foundation
import Testing
import WeightFormats

/// Mistral and Phi-3 through the command line: `run` on the Hugging Face directory, on
/// WeightKit's GGUF and on the directory converted back from it, against transformers' logits
/// and greedy tokens; the window keys of WeightKit's GGUF.
@Suite struct MistralPhi3CommandTests {
    static let models = ["mistral-tiny", "phi3-tiny"]

    static func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (difference / norm).squareRoot()
    }

    /// Runs `path` on the reference prompt: greedy tokens and full-sequence logits.
    static func run(_ path: String, prompt: [Int], generate: Int) throws -> (tokens: [JSONValue]?, logits: NPY.Array32) {
        let out = CLI.temporaryDirectory() + "/logits.npy"
        let result = try CLI.run(["run", path, "--tokens", prompt.map(String.init).joined(separator: ","), "--logits", out,
                                  "--generate", String(generate), "--ignore-eos", "--json"])
        #expect(result.status == 0, "\(path): \(result.stderr)")
        return (result.json?["tokens"]?.arrayValue, try NPY.read(out))
    }

    @Test("HF -> GGUF -> HF: run gives transformers' logits and greedy tokens at each step", arguments: models)
    func convertBothWaysAndRun(model: String) throws {
        let reference = try CLI.json("models/\(model)/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap(\.intValue)
        let expected = try NPY.read(CLI.fixture("models/\(model)/logits.npy"))
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/\(model).gguf", back = directory + "/hf"
        for arguments in [["convert", CLI.fixture("models/\(model)"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"], ["convert", gguf, back, "--quiet"]] {
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        for path in [CLI.fixture("models/\(model)"), gguf, back] {
            let (tokens, logits) = try Self.run(path, prompt: prompt, generate: 8)
            #expect(tokens == reference["greedy"]?.arrayValue, "\(path)")
            #expect(logits.shape == expected.shape)
            let error = Self.relativeL2(logits.values, expected.values)
            #expect(error <= 1e-4, "\(path): relative L2 \(error)")
        }
    }

    @Test("without the window key (or with 0), a GGUF attends fully", arguments: [
        ("mistral-tiny", ["--delete", "llama.attention.sliding_window"]),
        ("phi3-tiny", ["--delete", "phi3.attention.sliding_window"]),
        ("phi3-tiny", ["--set", "phi3.attention.sliding_window=0"]),
    ])
    func windowKey(model: String, edit: [String]) throws {
        let reference = try CLI.json("models/\(model)/reference.json")
        let prompt = try #require(reference["prompt"]?.arrayValue).compactMap(\.intValue)
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/\(model).gguf"
        #expect(try CLI.run(["convert", CLI.fixture("models/\(model)"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"]).status == 0)
        let inspected = try CLI.run(["inspect", gguf, "--json"])
        #expect(inspected.stdout.contains("sliding_window"))
        let edited = try CLI.run(["meta", gguf, "--quiet"] + edit)
        #expect(edited.status == 0, "\(edited.stderr)")
        let (_, logits) = try Self.run(gguf, prompt: prompt, generate: 1)
        let full = try NPY.read(CLI.fixture("models/\(model)/full_attention_logits.npy"))
        let error = Self.relativeL2(logits.values, full.values)
        #expect(error <= 1e-4, "relative L2 \(error) to full attention")
    }

    @Test("budget of a Mistral GGUF and of its directory agree")
    func budget() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/mistral.gguf"
        #expect(try CLI.run(["convert", CLI.fixture("models/mistral-tiny"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"]).status == 0)
        let fromGGUF = try CLI.run(["budget", gguf, "--json", "--ctx", "8,64"])
        let fromHF = try CLI.run(["budget", CLI.fixture("models/mistral-tiny"), "--json", "--ctx", "8,64"])
        #expect(fromGGUF.status == 0 && fromHF.status == 0, "\(fromGGUF.stderr) \(fromHF.stderr)")
        #expect(fromGGUF.json?["architecture"]?["model_type"]?.stringValue == "mistral")
        #expect(fromGGUF.json?["parameters"]?["total"] == fromHF.json?["parameters"]?["total"])
        #expect(fromGGUF.json?["kv_cache"] == fromHF.json?["kv_cache"])
        // Sliding layers keep the window's last tokens; llama.cpp, which has no window for Mistral, the context.
        let longest = try #require(fromHF.json?["kv_cache"]?["contexts"]?.arrayValue?.last)
        #expect(try #require(longest["bytes"]?.intValue) < (try #require(longest["llama_cpp_bytes"]?.intValue)))
    }

    @Test("bad configurations: an unknown family lists the supported ones; bad windows and longrope lists name the key")
    func badConfigurations() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cases: [(String, [String])] = [
            (#"{"model_type": "gpt_neo", "hidden_size": 8}"#, ["gpt_neo", "mistral", "phi3", "llama"]),
            (#"{"model_type": "mistral", "sliding_window": -5}"#, ["sliding_window", "-5"]),
            (#"{"model_type": "phi3", "sliding_window": "wide"}"#, ["sliding_window"]),
            (#"{"model_type": "phi3", "rope_scaling": {"type": "longrope", "short_factor": [1], "long_factor": [1]}}"#,
             ["rope_scaling.long_factor", "48"]),
            (#"{"model_type": "phi3", "rope_scaling": {"type": "dynamic", "factor": 2}}"#, ["rope_scaling.type", "dynamic"]),
        ]
        for (index, (text, expected)) in cases.enumerated() {
            let file = directory + "/\(index).json"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try CLI.run(["budget", file])
            #expect(result.status == 1, "\(text)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            for part in expected { #expect(result.stderr.contains(part), "\(text): \(result.stderr)") }
        }
    }
}
