import Foundation
import Testing
import WeightFormats

/// `weightkit embed` and BERT conversion through the command line: the contract (flags,
/// JSON keys, shapes, --file lines, notes, refusals), WeightKit's GGUF of each fixture model
/// (the file llama.cpp read when the fixtures were made) embedding as sentence-transformers.
@Suite struct EmbedCommandTests {
    static func reference(_ model: String) throws -> JSONValue { try CLI.json("embeddings/\(model)/reference.json") }

    static func texts(_ model: String) throws -> [String] {
        let texts = try #require(try reference(model)["texts"]?.arrayValue).compactMap(\.stringValue)
        try #require(!texts.isEmpty)
        return texts
    }

    /// Rows `rows` of `values` against the same rows of `expected` ([N, dim]).
    static func expectRows(_ values: [Float], _ expected: [Float], dim: Int, rows: [Int], bound: Double, _ what: String) {
        for (index, row) in rows.enumerated() {
            let a = values[index * dim..<(index + 1) * dim].map(Double.init), b = expected[row * dim..<(row + 1) * dim].map(Double.init)
            let dot = zip(a, b).map { $0 * $1 }.reduce(0, +)
            let na = a.map { $0 * $0 }.reduce(0, +), nb = b.map { $0 * $0 }.reduce(0, +)
            let difference = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            #expect(dot / (na * nb).squareRoot() >= 0.99999, "\(what) row \(row)")
            #expect((difference / nb).squareRoot() <= bound, "\(what) row \(row): \((difference / nb).squareRoot())")
        }
    }

    @Test("WeightKit's f32 GGUF is the file llama.cpp read; it embeds as sentence-transformers, and so did llama.cpp (rel L2 <= 3e-3)",
          arguments: ["bert-mean", "bert-cls-normalize", "bert-mean-normalize-classic"])
    func gguf(model: String) throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let reference = try Self.reference(model)
        let llama = try #require(reference["llama_cpp"])
        let gguf = directory + "/\(model).gguf", out = directory + "/e.npy"
        let converted = try CLI.run(["convert", CLI.fixture("embeddings/\(model)"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(try QuantizeCommandTests.sha256(gguf) == llama["weightkit_f32_sha256"]?.stringValue)
        let rows = try #require(llama["rows"]?.arrayValue).compactMap(\.intValue)
        let texts = try Self.texts(model)
        let normalized = try #require(reference["normalized"]?.boolValue)
        let run = try CLI.run(["embed", gguf, "--out", out, normalized ? "--normalize" : "--no-normalize"] + rows.flatMap { ["--text", texts[$0]] })
        #expect(run.status == 0, "\(run.stderr)")
        let expected = try NPY.read(CLI.fixture("embeddings/\(model)/embeddings.npy"))
        let written = try NPY.read(out)
        let dim = expected.shape[1]
        #expect(written.shape == [rows.count, dim])
        Self.expectRows(written.values, expected.values, dim: dim, rows: rows, bound: 1e-4, "\(model) GGUF")
        let recorded = try #require(llama["embeddings"]?.arrayValue).flatMap { try #require($0.arrayValue).compactMap(\.doubleValue).map(Float.init) }
        try #require(recorded.count == rows.count * dim)
        Self.expectRows(recorded, expected.values, dim: dim, rows: rows, bound: 3e-3, "\(model) llama.cpp")
    }

    @Test("GGUF -> HF directory -> embed equals the GGUF's embeddings (mean pooling, not normalised)")
    func ggufToHuggingFace() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/m.gguf", hf = directory + "/hf"
        #expect(try CLI.run(["convert", CLI.fixture("embeddings/bert-mean"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"]).status == 0)
        let back = try CLI.run(["convert", gguf, hf, "--quiet"])
        #expect(back.status == 0, "\(back.stderr)")
        // The original tokenizer files over the ones written from the GGUF: the embeddings of
        // given texts through the same weights.
        for file in ["tokenizer.json", "tokenizer_config.json"] {
            try? FileManager.default.removeItem(atPath: hf + "/" + file)
            try FileManager.default.copyItem(atPath: CLI.fixture("embeddings/bert-mean/\(file)"), toPath: hf + "/" + file)
        }
        let a = try CLI.run(["embed", gguf, "--text", "the man eats food.", "--text", "hello", "--no-normalize", "--json"])
        let b = try CLI.run(["embed", hf, "--text", "the man eats food.", "--text", "hello", "--json"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(a.json?["embeddings"] == b.json?["embeddings"])
        #expect(b.json?["pooling"]?.stringValue == "mean" && b.json?["normalized"]?.boolValue == false)
    }

    @Test("a GGUF without bert.pooling_type pools nothing, as llama.cpp; --pooling mean --no-normalize is the plain directory's")
    func ggufWithoutPooling() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gguf = directory + "/plain.gguf"
        #expect(try CLI.run(["convert", CLI.fixture("embeddings/bert-plain"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"]).status == 0)
        let unpooled = try CLI.run(["embed", gguf, "--text", "hello", "--json"])
        #expect(unpooled.json?["pooling"]?.stringValue == "none" && unpooled.json?["normalized"]?.boolValue == true)
        #expect(unpooled.json?["embeddings"]?.arrayValue?.first?.arrayValue?.count == 3)
        let texts = try Self.texts("bert-plain")
        let out = directory + "/e.npy"
        let mean = try CLI.run(["embed", gguf, "--pooling", "mean", "--no-normalize", "--out", out] + texts.flatMap { ["--text", $0] })
        #expect(mean.status == 0, "\(mean.stderr)")
        let expected = try NPY.read(CLI.fixture("embeddings/bert-plain/embeddings.npy"))
        Self.expectRows(try NPY.read(out).values, expected.values, dim: 32, rows: Array(0..<texts.count), bound: 1e-4, "plain GGUF")
    }

    @Test("--json prints exactly model, pooling, normalized, dim, tokens, embeddings; --file lines; the truncation note")
    func jsonContract() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let texts = try Self.texts("bert-cls-normalize")
        let file = directory + "/texts.txt"
        try (texts.joined(separator: "\r\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let model = CLI.fixture("embeddings/bert-cls-normalize")
        let run = try CLI.run(["embed", model, "--file", file, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(run.json?.objectValue)
        #expect(json.keys == ["model", "pooling", "normalized", "dim", "tokens", "embeddings"])
        #expect(json["pooling"]?.stringValue == "cls" && json["normalized"]?.boolValue == true && json["dim"]?.intValue == 32)
        #expect(json["tokens"] == (try Self.reference("bert-cls-normalize"))["tokens"])
        let rows = try #require(json["embeddings"]?.arrayValue)
        #expect(rows.count == texts.count && rows.allSatisfy { $0.arrayValue?.count == 32 })
        #expect(run.stderr.contains("note: text 4 truncated to max_seq_length 16"))
        let expected = try NPY.read(model + "/embeddings.npy")
        let values = rows.flatMap { ($0.arrayValue ?? []).compactMap(\.doubleValue).map(Float.init) }
        Self.expectRows(values, expected.values, dim: 32, rows: Array(0..<texts.count), bound: 1e-4, "--json")
        // Without --out or --json: one line of values per text.
        let lines = try CLI.run(["embed", model, "--text", "hello", "--text", "a b", "--prefix", "the "])
        #expect(lines.stdout.split(separator: "\n").map { $0.split(separator: " ").count } == [32, 32])
    }

    @Test("--out writes [N, dim]; --pooling none [N, T, dim]; an existing --out needs --force")
    func npyOutputs() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = CLI.fixture("embeddings/bert-mean"), out = directory + "/e.npy"
        #expect(try CLI.run(["embed", model, "--text", "hello", "--text", "a man", "--out", out]).status == 0)
        #expect(try NPY.read(out).shape == [2, 32])
        let again = try CLI.run(["embed", model, "--text", "hello", "--out", out])
        #expect(again.status == 1 && again.stderr.contains("--force"))
        let none = try CLI.run(["embed", model, "--text", "the man eats food.", "--text", "the dog eats meat.", "--pooling", "none", "--out", out, "--force"])
        #expect(none.status == 0, "\(none.stderr)")
        let written = try NPY.read(out), expected = try NPY.read(model + "/token_embeddings.npy")
        #expect(written.shape == expected.shape)
    }

    @Test("refusals: one line on stderr, exit 1, nothing written")
    func refusals() throws {
        let directory = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/e.npy"
        let unequal = try CLI.run(["embed", CLI.fixture("embeddings/bert-mean"), "--text", "hello", "--text", "the man eats food.",
                                   "--pooling", "none", "--out", out])
        #expect(unequal.status == 1 && unequal.stderr == "error: --pooling none needs texts of equal token counts; the texts have 3, 7 tokens\n")
        let dense = try CLI.run(["embed", CLI.fixture("embeddings/bert-dense"), "--text", "hello", "--out", out])
        #expect(dense.status == 1 && dense.stderr.contains("Dense") && dense.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
        let both = try CLI.run(["embed", CLI.fixture("embeddings/bert-mean"), "--normalize", "--no-normalize", "--text", "a"])
        #expect(both.status != 0)
        let gguf = directory + "/m.gguf", bad = directory + "/bad.gguf"
        #expect(try CLI.run(["convert", CLI.fixture("embeddings/bert-mean"), gguf, "--type", "f32", "--tokenizer-pre", "default", "--quiet"]).status == 0)
        #expect(try CLI.run(["meta", gguf, "--set", "bert.pooling_type:UINT32=9", "--output", bad, "--quiet"]).status == 0)
        let pooling = try CLI.run(["embed", bad, "--text", "hello"])
        #expect(pooling.status == 1 && pooling.stderr.contains("bert.pooling_type") && pooling.stderr.split(separator: "\n").count == 1)
        let long = try CLI.run(["embed", CLI.fixture("embeddings/bert-plain"), "--text", "hello",
                                "--text", Array(repeating: "the man", count: 40).joined(separator: " ")])
        #expect(long.status == 1 && long.stderr == "error: text 2 (of --text) has 82 tokens, more than the 64 positions of the model, which has no max_seq_length to cut it\n")
        let run = try CLI.run(["run", CLI.fixture("embeddings/bert-mean"), "--tokens", "2,3", "--generate", "1"])
        #expect(run.status == 1 && run.stderr.hasSuffix("error: 'bert' is an encoder, not a language model: use weightkit embed\n"))
        let empty = directory + "/empty.txt"
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        let none = try CLI.run(["embed", CLI.fixture("embeddings/bert-mean"), "--file", empty])
        #expect(none.status == 1 && none.stderr.contains("empty.txt"))
    }
}
