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
        #expect(matrix.datasets == (expected["datasets"]?.arrayValue ?? []).compactMap(\.stringValue))
        let entries = try #require(expected["entries"]?.objectValue)
        #expect(Set(matrix.entries.keys) == Set(entries.keys))
        for (name, reference) in entries {
            let weights = try #require(matrix.entries[name])
            #expect(weights.count == reference["count"]?.intValue, "\(name)")
            #expect(weights.withUnsafeBytes { Digest.sha256Hex($0) } == reference["sha256"]?.stringValue, "\(name): first \(weights.prefix(4))")
        }
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
