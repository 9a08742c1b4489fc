#if canImport(Glibc)
import Glibc
#endif
import Testing
import WeightConversion
import WeightFormats

/// Importance matrices written by llama-imatrix (GGUF and legacy .dat), normalised as
/// llama-quantize does, against gguf-py / NumPy readings (Fixtures/generators/quant_mixes.py).
@Suite struct ImportanceMatrixTests {
    static let reference: [String: JSONValue] = {
        guard let object = (try? Fixture.json("core/quant_mixes/imatrix.json"))?.objectValue else { return [:] }
        return Dictionary(uniqueKeysWithValues: object.keys.compactMap { key in object[key].map { (key, $0) } })
    }()

    @Test func referenceExists() {
        #expect(Set(Self.reference.keys).isSuperset(of: ["llama-gqa.imatrix.gguf", "llama-gqa.imatrix.dat", "qwen3moe-8x.imatrix.gguf"]))
    }

    @Test(arguments: reference.keys.sorted())
    func entriesMatch(file: String) throws {
        let expected = try #require(Self.reference[file])
        let matrix = try ImportanceMatrix.read(path: Fixture.path("core/quant_mixes/\(file)"))
        #expect(matrix.isLegacy == file.hasSuffix(".dat"))
        #expect(matrix.chunkCount == expected["chunk_count"]?.intValue)
        #expect(matrix.chunkSize == expected["chunk_size"]?.intValue)
        let datasets = try #require(expected["datasets"]?.arrayValue)
        #expect(matrix.datasets == datasets.compactMap(\.stringValue))
        let entries = try #require(expected["entries"]?.objectValue)
        #expect(Set(matrix.entries.keys) == Set(entries.keys))
        for (name, reference) in entries {
            let weights = try #require(matrix.entries[name])
            #expect(weights.count == reference["count"]?.intValue, "\(name)")
            #expect(weights.withUnsafeBytes { Digest.sha256Hex($0) } == reference["sha256"]?.stringValue, "\(name): first \(weights.prefix(4))")
        }
    }

    /// A legacy .dat with the given entries (ncall 1).
    static func legacyFile(_ entries: [(String, [Float])], in directory: String, name: String) throws -> String {
        var bytes: [UInt8] = []
        func int32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        int32(Int32(entries.count))
        for (entryName, values) in entries {
            int32(Int32(entryName.utf8.count)); bytes += Array(entryName.utf8)
            int32(1); int32(Int32(values.count))
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        }
        let path = PathName.join(directory, name)
        try write(path, bytes)
        return path
    }

    @Test func quantisingChecksTheMatrix() throws {
        let directory = try temporaryDirectory()
        let source = Fixture.path("core/quant_mixes/llama-gqa-f16.gguf.zst")
        func run(_ matrixPath: String) throws {
            var options = QuantizeOptions(target: .mix(.q4_K_M))
            options.importance = try ImportanceMatrix.read(path: matrixPath)
            options.importancePath = matrixPath
            _ = try ModelQuantizer.quantize(source: source, destination: PathName.join(directory, "out.gguf"), options: options)
        }
        var values = [Float](repeating: 1, count: 256)
        values[7] = .nan
        let nonFinite = try Self.legacyFile([("blk.0.attn_q.weight", values)], in: directory, name: "nan.dat")
        #expect(throws: ImportanceMatrixError.nonFinite(tensor: "blk.0.attn_q.weight")) { try run(nonFinite) }
        let wrongSize = try Self.legacyFile([("blk.0.attn_q.weight", [Float](repeating: 1, count: 96))], in: directory, name: "size.dat")
        #expect(throws: ImportanceMatrixError.sizeMismatch(tensor: "blk.0.attn_q.weight", expected: 256, found: 96)) { try run(wrongSize) }
        let otherNames = try Self.legacyFile([("model.layers.0.q_proj", [Float](repeating: 1, count: 256))], in: directory, name: "names.dat")
        #expect(throws: ImportanceMatrixError.noMatchingEntries(path: otherNames)) { try run(otherNames) }
        // A token_embd entry of the wrong size is skipped with a warning, as llama.cpp does.
        let embedding = try Self.legacyFile(
            [("token_embd.weight", [1, 2, 3]), ("blk.0.attn_q.weight", [Float](repeating: 1, count: 256))], in: directory, name: "embd.dat")
        try run(embedding)
        #expect(try FileSystem.contentsOfDirectory(directory).sorted() == ["embd.dat", "names.dat", "nan.dat", "out.gguf", "size.dat"])
    }

    @Test func refusesBadFiles() throws {
        let directory = try temporaryDirectory()
        let empty = PathName.join(directory, "empty.dat")
        try write(empty, [0, 0, 0, 0])
        #expect(throws: ImportanceMatrixError.empty(path: empty)) { try ImportanceMatrix.read(path: empty) }
        let truncated = PathName.join(directory, "truncated.dat")
        try write(truncated, [1, 0, 0, 0, 200, 0, 0, 0, 65])
        #expect(throws: ImportanceMatrixError.self) { try ImportanceMatrix.read(path: truncated) }
    }
}

private func write(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else { throw WriteError.cannotCreate(path: path, reason: "fopen failed") }
    defer { fclose(file) }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
}
