import Foundation
import Testing
import WeightArchitecture
import WeightFormats
import WeightModels

/// BERT sentence embeddings against sentence-transformers (Fixtures/generators/bert_models.py):
/// random models saved as sentence-transformers models (mean and CLS pooling, with and without
/// Normalize, the 6.x and the 2.x file layouts), a plain Hugging Face BERT, and bad inputs.
@Suite struct SentenceEmbeddingTests {
    static let models = ["bert-mean", "bert-cls-normalize", "bert-mean-normalize-classic", "bert-plain", "bert-plain-vocab"]

    static func texts(_ model: String) throws -> [String] {
        let texts = try requiredArray(try Fixture.json("embeddings/\(model)/reference.json")["texts"], "texts").compactMap(\.stringValue)
        guard !texts.isEmpty else { throw MissingFixtureData(what: "texts of \(model)") }
        return texts
    }

    /// Each row: cosine >= 0.99999 and relative L2 <= `bound` against the reference row.
    static func expectClose(_ values: [Float], _ reference: [Float], dim: Int, bound: Double, _ what: String) {
        #expect(values.count == reference.count, "\(what): \(values.count) values, expected \(reference.count)")
        guard values.count == reference.count, dim > 0 else { return }
        for row in 0..<values.count / dim {
            let a = Array(values[row * dim..<(row + 1) * dim]), b = Array(reference[row * dim..<(row + 1) * dim])
            var dot = 0.0, na = 0.0, nb = 0.0
            for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
            let cosine = dot / (na * nb).squareRoot()
            #expect(cosine >= 0.99999, "\(what) row \(row): cosine \(cosine)")
            #expect(relativeL2(a, b) <= bound, "\(what) row \(row): relative L2 \(relativeL2(a, b))")
        }
    }

    @Test("embed equals SentenceTransformer.encode (cosine >= 0.99999, rel L2 <= 1e-4), token counts after truncation too",
          arguments: models)
    func equalsSentenceTransformers(model: String) throws {
        let reference = try Fixture.json("embeddings/\(model)/reference.json")
        let expected = try NPY.read(Fixture.path("embeddings/\(model)/embeddings.npy"))
        let embedder = try SentenceEmbedder.load(Fixture.path("embeddings/\(model)"))
        let result = try embedder.embed(try Self.texts(model))
        #expect(result.shape == expected.shape)
        #expect(result.tokenCounts == (try requiredInts(reference["tokens"], "tokens")))
        #expect(result.normalized == reference["normalized"]?.boolValue)
        Self.expectClose(result.values, expected.values, dim: result.dimension, bound: 1e-4, model)
    }

    @Test("the setup each layout describes: modules.json, Pooling's config, Normalize only when listed, max_seq_length")
    func setups() throws {
        let expected: [String: EmbeddingSetup] = [
            "bert-mean": EmbeddingSetup(pooling: .mean, normalize: false, maxSequenceLength: 16),
            "bert-cls-normalize": EmbeddingSetup(pooling: .cls, normalize: true, maxSequenceLength: 16),
            "bert-mean-normalize-classic": EmbeddingSetup(pooling: .mean, normalize: true, maxSequenceLength: 16),
            "bert-plain": EmbeddingSetup(pooling: .mean, normalize: false, maxSequenceLength: nil),
            "bert-plain-vocab": EmbeddingSetup(pooling: .mean, normalize: false, maxSequenceLength: nil),
        ]
        for (model, setup) in expected {
            #expect(try SentenceEmbedder.load(Fixture.path("embeddings/\(model)")).setup == setup, "\(model)")
        }
    }

    @Test("a vocab.txt tokenizes as transformers' BertTokenizer built from it")
    func vocabularyFile() throws {
        let embedder = try SentenceEmbedder.load(Fixture.path("embeddings/bert-plain-vocab"))
        let expected = try requiredArray(try Fixture.json("embeddings/bert-plain-vocab/reference.json")["ids"], "ids")
        let texts = try Self.texts("bert-plain-vocab")
        #expect(expected.count == texts.count)
        for (text, ids) in zip(texts, expected) {
            #expect(embedder.tokenizer.encode(text) == (try requiredInts(ids, "ids of \(text)")))
        }
    }

    @Test("texts one at a time equal the batch: attention stays within each text of a packed batch")
    func batchEqualsSingles() throws {
        let embedder = try SentenceEmbedder.load(Fixture.path("embeddings/bert-cls-normalize"))
        let texts = try Self.texts("bert-cls-normalize")
        let batch = try embedder.embed(texts)
        var singles: [Float] = []
        for text in texts { singles += try embedder.embed([text]).values }
        #expect(relativeL2(singles, batch.values) <= 1e-6)
    }

    @Test("pooling none: every token's state as sentence-transformers' token_embeddings; unequal counts refused with the counts")
    func unpooled() throws {
        let embedder = try SentenceEmbedder.load(Fixture.path("embeddings/bert-mean"))
        let expected = try NPY.read(Fixture.path("embeddings/bert-mean/token_embeddings.npy"))
        let result = try embedder.embed(["the man eats food.", "the dog eats meat."], pooling: Pooling.none)
        #expect(result.shape == expected.shape)
        Self.expectClose(result.values, expected.values, dim: result.dimension, bound: 1e-4, "token_embeddings")
        #expect(throws: ModelError.unequalTokenCounts([3, 7])) {
            try embedder.embed(["hello", "the man eats food."], pooling: Pooling.none)
        }
    }

    @Test("without max_seq_length, a text longer than the position table is an error naming it")
    func tooLong() throws {
        let embedder = try SentenceEmbedder.load(Fixture.path("embeddings/bert-plain"))
        let long = Array(repeating: "the man", count: 40).joined(separator: " ")
        #expect(throws: ModelError.textTooLong(index: 1, tokens: 82, positions: 64)) { try embedder.embed(["hello", long]) }
    }

    @Test("a Dense module is refused by name")
    func denseRefused() throws {
        do {
            _ = try SentenceEmbedder.load(Fixture.path("embeddings/bert-dense"))
            Issue.record("a Dense module was accepted")
        } catch ModelError.unsupportedModule(let file, let module, _) {
            #expect(file.hasSuffix("modules.json"))
            #expect(module.hasSuffix("Dense"))
        }
    }

    @Test("a config naming an unknown family: the error lists the supported model types")
    func unknownFamily() throws {
        let directory = NSTemporaryDirectory() + "/weightkit-embed-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Fixture.path("embeddings/bert-plain"), toPath: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/config.json"
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "\"bert\"", with: "\"bort\"")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        do {
            _ = try SentenceEmbedder.load(directory)
            Issue.record("an unknown model type was accepted")
        } catch ArchitectureError.unsupportedModelType(_, let modelType, let supported) {
            #expect(modelType == "bort")
            #expect(supported.contains("bert"))
        }
    }
}
