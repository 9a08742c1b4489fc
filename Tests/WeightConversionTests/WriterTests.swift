import Testing
import WeightFormats

/// The GGUF and safetensors writers reproduce the reference writers' files byte for byte
/// (gguf-py's GGUFWriter and the safetensors package, Fixtures/generators/conversion.py).
@Suite struct WriterTests {
    /// Rewrites a reference GGUF from owned metadata values and its tensors' bytes.
    func rewrite(_ name: String, owned: Bool) throws -> (written: [UInt8], reference: [UInt8]) {
        let source = try GGUFFile(path: Fixture.path("conversion/\(name)"))
        var metadata = GGUFMetadataList()
        for entry in source.metadata.entries {
            metadata[entry.key] = owned ? GGUFMetadataValue(owning: entry.value) : .copied(entry.value)
        }
        let layouts = source.tensorInfos.map { GGUFTensorLayout(name: $0.name, type: $0.type, shape: $0.shape) }
        let directory = try temporaryDirectory()
        let destination = PathName.join(directory, name)
        let writer = try GGUFWriter(destination: destination, metadata: metadata, tensors: layouts)
        for info in source.tensorInfos {
            try writer.write(UnsafeRawBufferPointer(rebasing: source.file.bytes[info.offset..<(info.offset + info.byteCount)]))
        }
        try writer.commit()
        return (try FileSystem.readFile(destination), try Fixture.bytes("conversion/\(name)"))
    }

    @Test(arguments: ["writer.gguf", "writer-aligned.gguf"])
    func ggufFromOwnedValuesMatchesGGUFPy(name: String) throws {
        let (written, reference) = try rewrite(name, owned: true)
        #expect(written == reference)
    }

    @Test func ggufFromCopiedValuesMatchesGGUFPy() throws {
        let (written, reference) = try rewrite("writer.gguf", owned: false)
        #expect(written == reference)
    }

    @Test func safetensorsMatchesReferencePackage() throws {
        let source = try SafeTensorsFile(path: Fixture.path("conversion/writer.safetensors"))
        let layouts = source.tensorInfos
            .map { SafeTensorsTensorLayout(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
            .sorted { $0.name < $1.name }
        let ordered = SafeTensorsWriter.referenceOrder(layouts)
        let destination = PathName.join(try temporaryDirectory(), "out.safetensors")
        let writer = try SafeTensorsWriter(destination: destination, metadata: source.metadata, tensors: ordered)
        for layout in ordered {
            let info = source.tensorInfos.first { $0.name == layout.name }!
            let start = source.dataOffset + info.dataBegin, end = source.dataOffset + info.dataEnd
            try writer.write(UnsafeRawBufferPointer(rebasing: source.file.bytes[start..<end]))
        }
        try writer.commit()
        #expect(try FileSystem.readFile(destination) == (try Fixture.bytes("conversion/writer.safetensors")))
    }

    @Test func existingDestinationIsRefusedAndKept() throws {
        let destination = PathName.join(try temporaryDirectory(), "x.gguf")
        let keep = try GGUFWriter(destination: destination, metadata: GGUFMetadataList(), tensors: [])
        try keep.commit()
        let before = try FileSystem.readFile(destination)
        #expect(throws: WriteError.destinationExists(path: destination)) {
            _ = try GGUFWriter(destination: destination, metadata: GGUFMetadataList(), tensors: [])
        }
        #expect(try FileSystem.readFile(destination) == before)
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let directory = try temporaryDirectory()
        let destination = PathName.join(directory, "y.safetensors")
        do {
            let writer = try SafeTensorsWriter(
                destination: destination, metadata: nil,
                tensors: [SafeTensorsTensorLayout(name: "a", dtype: .f32, shape: [4])])
            try [Float](repeating: 1, count: 2).withUnsafeBytes { try writer.write($0) }
            #expect(throws: WriterError.self) { try writer.commit() }
        }
        #expect(try FileSystem.contentsOfDirectory(directory).isEmpty)
    }

    @Test func tooManyBytesAreRefused() throws {
        let destination = PathName.join(try temporaryDirectory(), "z.gguf")
        let writer = try GGUFWriter(
            destination: destination, metadata: GGUFMetadataList(),
            tensors: [GGUFTensorLayout(name: "a", type: .f32, shape: [1])])
        #expect(throws: WriterError.self) {
            try [Float](repeating: 1, count: 2).withUnsafeBytes { try writer.write($0) }
        }
    }

    @Test func badAlignmentIsRefused() throws {
        var metadata = GGUFMetadataList()
        metadata["general.alignment"] = .uint32(48)
        #expect(throws: FormatError.invalidAlignment(value: 48)) {
            _ = try GGUFWriter.header(metadata: metadata, tensors: [])
        }
        metadata["general.alignment"] = .uint64(64)
        #expect(throws: WriterError.self) { _ = try GGUFWriter.header(metadata: metadata, tensors: []) }
    }
}
