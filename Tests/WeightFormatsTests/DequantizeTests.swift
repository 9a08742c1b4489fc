import Testing
@testable import WeightFormats

/// Decoding every ggml type against gguf-py's float32 output (Fixtures/generators/ggml_types.py).
@Suite struct DequantizeTests {
    static let listing: [JSONValue] = (try? Fixture.json("core/ggml_types.json").arrayValue) ?? []
    static let typeNames: [String] = listing.compactMap { $0["type"]?.stringValue }

    @Test("fixture covers every decodable type")
    func coverage() throws {
        let decodable = Set(GGMLType.allCases.filter { $0 != .q8_1 && $0 != .q8_K }.map(\.name))
        #expect(Set(Self.typeNames) == decodable)
    }

    @Test("decoding equals the reference", arguments: typeNames)
    func decodeMatchesReference(type name: String) throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/ggml_types.gguf"))
        let tensor = try checkpoint.requireTensor("t.\(name)")
        #expect(tensor.dtype.name == name)
        let expected = try NPY.read(Fixture.path("core/ggml_types/\(name).npy"))
        #expect(tensor.shape == expected.shape)
        let decoded = try tensor.floats()
        #expect(decoded.count == expected.values.count)
        var worst = 0
        for (a, b) in zip(decoded, expected.values) { worst = max(worst, ulpDistance(a, b)) }
        // Bit-exact, or within 1 ulp where the order of operations differs.
        #expect(worst <= 1, "\(name): \(worst) ulp")

        // Row access decodes the same values without decoding the whole tensor.
        for row in 0..<tensor.rowCount {
            let values = try tensor.row(row)
            let slice = Array(decoded[(row * tensor.rowLength)..<((row + 1) * tensor.rowLength)])
            #expect(values.map(\.bitPattern) == slice.map(\.bitPattern))
        }
    }

    @Test("threads split the work without changing the result")
    func parallelDecodingIsIdentical() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/ggml_types.gguf"))
        for name in ["Q4_K", "Q8_0", "F16"] {
            let tensor = try checkpoint.requireTensor("t.\(name)")
            let decoder = try Decoder(for: tensor)
            // Decode the same blocks many times over into one long buffer, on 1 and on 4 threads.
            let blocks = tensor.byteCount / tensor.dtype.bytesPerBlock
            var single = [Float](repeating: 0, count: blocks * tensor.dtype.blockSize)
            var parallel = single
            single.withUnsafeMutableBufferPointer { decoder.decode(blocks: 0..<blocks, into: $0.baseAddress!, threads: 1) }
            parallel.withUnsafeMutableBufferPointer { decoder.decode(blocks: 0..<blocks, into: $0.baseAddress!, threads: 4) }
            #expect(single.map(\.bitPattern) == parallel.map(\.bitPattern))
        }
    }
}

/// The type table against gguf-py's GGML_QUANT_SIZES and ggml's own traits.
@Suite struct RegistryTests {
    @Test func tableMatchesReferences() throws {
        guard case .object(let registry) = try Fixture.json("core/ggml_registry.json") else {
            Issue.record("registry fixture missing"); return
        }
        #expect(registry.count == GGMLType.allCases.count)
        for (name, entry) in registry {
            let type = try #require(GGMLType(name: name), "unknown type \(name)")
            #expect(Int(type.rawValue) == entry["id"]?.intValue)
            #expect(type.blockSize == entry["block_size"]?.intValue)
            #expect(type.blockSize == entry["ggml_block_size"]?.intValue)
            // ggml's current layout is the authority for sizes.
            #expect(type.bytesPerBlock == entry["ggml_type_size"]?.intValue)
            if type == .q8_1 {
                // The one known difference: gguf-py 0.19.0 still lists Q8_1 at 40 bytes (two
                // f32), ggml's block_q8_1 holds two halves: 36 bytes.
                #expect(entry["type_size"]?.intValue == 40)
            } else {
                #expect(type.bytesPerBlock == entry["type_size"]?.intValue)
            }
        }
    }

    @Test func removedAndUnknownIDsAreNotTypes() {
        for id in GGMLType.removedIDs.keys { #expect(GGMLType(rawValue: id) == nil) }
        #expect(GGMLType(rawValue: 43) == nil)
    }
}
