import Foundation
import Testing
import WeightFormats

/// The library names the arguments of its API in errors; the command line says the same with
/// its flags, one line on stderr, exit 1.
@Suite struct ErrorSpellingTests {
    static let gguf = CLI.fixture("models/qwen3-tiny-gguf/qwen3-tiny-f32.gguf")
    static let config = CLI.fixture("models/qwen3-tiny")

    /// Each command's refusal and the flag its message must start with, or hold.
    static let cases: [(arguments: [String], says: String)] = [
        (["budget", config, "--ctx", "0"], "--ctx: '0' is not a positive context length"),
        (["budget", config, "--parallel", "1000000000"], "--parallel: 1000000000 is more than"),
        (["budget", config, "--memory", "12XB"], "--memory: '12XB' has an unknown unit"),
        (["budget", config, "--kv-type", "q2_k"], "--kv-type: 'q2_k' is not a KV-cache type"),
        (["budget", config, "--kv-type-v", "q2_k"], "--kv-type-v: 'q2_k' is not a KV-cache type"),
        (["budget", config, "--lora-rank", "8", "--lora-targets", "q,x"], "--lora-targets: 'x' is not a target"),
        (["budget", config, "--images", "2"], "--images: not available"),
        (["meta", gguf, "--set", "general.name", "--dry-run"], "--set 'general.name': expected KEY=VALUE"),
        (["meta", gguf, "--delete", "no.such.key", "--dry-run"], "--delete no.such.key:"),
        (["convert", gguf, "OUT/x.gguf", "--compress", "zstd:99"], "--compress zstd:99: the level must be in"),
        (["convert", gguf, "OUT/x.gguf", "--compress", "zstd", "--split-max-size", "1M"], "--compress writes one file: drop --split-max-size"),
        (["convert", gguf, "OUT/x.gguf", "--type", "q4_k_m", "--compress", "zstd"], "--type q4_k_m (a quantisation mix) writes one uncompressed .gguf: drop --compress"),
        (["convert", gguf, "OUT/exists.gguf"], "already exists (use --force to replace it)"),
        (["convert", gguf, gguf, "--force"], "(not even with --force)"),
        (["imatrix", gguf, "--tokens-file", "OUT/tokens.txt", "--out", "OUT/i.gguf", "--ctx", "4096"], "tokens; --ctx 4096 needs at least 8192 (2 x --ctx)"),
    ]

    @Test("refusals name the command's flags, never the library's argument names", arguments: cases.indices)
    func flagsInMessages(index: Int) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: directory + "/exists.gguf", contents: Data([1]))
        FileManager.default.createFile(atPath: directory + "/tokens.txt", contents: Data("1 2 3 4 5 6 7 8".utf8))
        let (arguments, says) = Self.cases[index]
        let result = try CLI.run(arguments.map { $0.replacingOccurrences(of: "OUT/", with: directory + "/") })
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(says), "\(result.stderr)")
        for libraryName in ["BudgetRequest.", "ConversionOptions.", "QuantizeOptions.", "MetadataEdit.", "overwrite", "allowRequantize", "compression", "contextLength", "chunkLimit"] {
            #expect(!result.stderr.contains(libraryName), "\(result.stderr)")
        }
    }
}
