import Testing
@testable import WeightFormats

/// safetensors files written by the safetensors package and by transformers, compared with the
/// references' readings (Fixtures/generators/safetensors_files.py).
@Suite struct SafeTensorsReaderTests {
    static func checkListing(_ tensors: [TensorView], _ expected: JSONValue) throws {
        let listing = try #require(expected["tensors"]?.arrayValue)
        #expect(tensors.count == listing.count)
        for (ours, theirs) in zip(tensors, listing) {
            #expect(ours.name == theirs["name"]?.stringValue)
            #expect(ours.dtype.name == theirs["dtype"]?.stringValue)
            #expect(ours.shape == theirs["shape"]?.arrayValue?.compactMap(\.intValue))
            #expect(ours.offset == theirs["offset"]?.intValue)
            #expect(ours.byteCount == theirs["nbytes"]?.intValue)
        }
    }

    @Test("every dtype of safetensors 0.8")
    func everyDType() throws {
        let expected = try Fixture.json("core/dtypes.json")
        let checkpoint = try Checkpoint.open(Fixture.path("core/dtypes.safetensors"))
        #expect(checkpoint.format == .safetensors)
        try Self.checkListing(checkpoint.tensors, expected)
        #expect(Set(checkpoint.tensors.map(\.dtype.name)) == Set(SafeTensorsDType.allCases.map(\.rawValue)))
        let metadata = try #require(expected["metadata"]?.objectValue)
        #expect(checkpoint.safetensorsMetadata.count == metadata.count)
        for (key, value) in checkpoint.safetensorsMetadata { #expect(metadata[key]?.stringValue == value) }

        let decodable = try #require(expected["decodable"]?.objectValue)
        for (dtype, canDecode) in decodable {
            let tensor = try checkpoint.requireTensor("t.\(dtype)")
            if canDecode.boolValue == true {
                let reference = try NPY.read(Fixture.path("core/dtypes/\(dtype).npy"))
                let decoded = try tensor.floats()
                let same = zip(decoded, reference.values).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                #expect(same, "\(dtype)")
            } else {
                #expect(formatError { try tensor.floats() } != nil, "\(dtype) should refuse conversion")
            }
        }
    }

    @Test("sharded checkpoint written by transformers, as a directory and through its index")
    func shardedDirectory() throws {
        let expected = try Fixture.json("core/hf-sharded.json")
        let parts = try #require(expected["parts"]?.arrayValue)
        for path in ["core/hf-sharded", "core/hf-sharded/model.safetensors.index.json"] {
            let checkpoint = try Checkpoint.open(Fixture.path(path))
            #expect(checkpoint.safetensorsFiles.count == parts.count)
            var offset = 0
            for part in parts {
                let names = try #require(part["tensors"]?.arrayValue)
                let slice = Array(checkpoint.tensors[offset..<(offset + names.count)])
                try Self.checkListing(slice, part)
                #expect(slice.allSatisfy { $0.fileName == part["file"]?.stringValue })
                offset += names.count
            }
            #expect(offset == checkpoint.tensors.count)
            for name in ["model.norm.weight", "model.layers.1.self_attn.k_proj.bias"] {
                let reference = try NPY.read(Fixture.path("core/hf-sharded-values/\(name).npy"))
                #expect(try checkpoint.requireTensor(name).floats() == reference.values)
            }
        }
    }

    @Test func singleShard() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/hf-sharded/model-00001-of-00007.safetensors"))
        #expect(checkpoint.tensors.first?.fileName == "model-00001-of-00007.safetensors")
    }
}
