import Foundation
import Testing
import WeightConversion
import WeightFormats

/// Split sets and shards against llama.cpp's `llama-gguf-split` (its parts recorded by
/// Fixtures/generators/split_files.py) and round trips through merge.
@Suite struct SplitMergeTests {
    /// The llama-gguf-split references exist once `make fixtures` ran with llama.cpp built.
    static let llamaReferences = FileManager.default.fileExists(atPath: Fixture.path("conversion/split/llama-split.json"))

    /// WeightKit's split of the same source at the same limit (1M = 1,000,000 bytes) gives
    /// llama-gguf-split's parts: names, sizes, data offsets, metadata and tensors per part.
    @Test(.enabled(if: llamaReferences, "needs llama-gguf-split's references (make fixtures with llama.cpp built)"))
    func ggufSplitMatchesLlamaGGUFSplit() throws {
        let reference = try Fixture.json("conversion/split/llama-split.json")
        let directory = try temporaryDirectory()
        let source = Fixture.path("conversion/split/source.gguf.zst")
        let report = try Converter.convert(
            source: source, destination: PathName.join(directory, "split.gguf"),
            options: ConversionOptions(splitMaxSize: 1_000_000))
        let parts = reference["parts"]!.arrayValue!
        #expect(report.outputs.map { PathName.lastComponent(of: $0) } == parts.map { $0["name"]!.stringValue! })
        let original = try GGUFFile(path: source)
        for (path, expected) in zip(report.outputs, parts) {
            let part = try GGUFFile(path: path)
            #expect(part.file.size == expected["size"]!.intValue!, "\(path) size")
            #expect(part.dataOffset == expected["data_offset"]!.intValue!, "\(path) data offset")
            let keys = expected["metadata"]!.arrayValue!
            #expect(part.metadata.entries.map(\.key) == keys.map { $0["key"]!.stringValue! }, "\(path) keys")
            for (entry, key) in zip(part.metadata.entries, keys) {
                // The fixture names arrays "ARRAY" with the element type beside the values.
                let elementType = key["value"]?["element_type"]?.stringValue
                let type = key["type"]!.stringValue! + (elementType.map { "[\($0)]" } ?? "")
                #expect(entry.value.typeName == type, "\(entry.key) type")
                if let number = key["value"]!.intValue { #expect(entry.value.intValue == number, "\(entry.key)") }
                if let text = key["value"]!.stringValue { #expect(entry.value.stringValue == text, "\(entry.key)") }
            }
            let tensors = expected["tensors"]!.arrayValue!
            #expect(part.tensorInfos.map(\.name) == tensors.map { $0["name"]!.stringValue! }, "\(path) tensors")
            for (info, tensor) in zip(part.tensorInfos, tensors) {
                #expect(info.type.name == tensor["type"]!.stringValue!, "\(info.name) type")
                #expect(info.shape == tensor["shape"]!.arrayValue!.map { $0.intValue! }, "\(info.name) shape")
                #expect(info.relativeOffset == tensor["offset"]!.intValue!, "\(info.name) offset")
                let from = original.tensorInfos.first { $0.name == info.name }!
                #expect(bytes(part, info) == bytes(original, from), "\(info.name) data")
            }
        }
        // The split set opens as one checkpoint again.
        #expect(try Checkpoint.open(report.outputs[1]).tensors.count == original.tensorInfos.count)
    }

    /// Merging llama-gguf-split's parts of a convert_hf_to_gguf file gives that file back, byte
    /// for byte; its keys are those of llama-gguf-split's own merge without the split.* keys.
    @Test(.enabled(if: llamaReferences, "needs llama-gguf-split's references (make fixtures with llama.cpp built)"))
    func mergeOfLlamaSplitSetIsTheOriginalFile() throws {
        let destination = PathName.join(try temporaryDirectory(), "merged.gguf")
        let parts = try FileSystem.contentsOfDirectory(Fixture.path("conversion/split")).filter { $0.hasPrefix("llama-split-0000") }.sorted()
        #expect(parts.count > 1)
        _ = try Converter.merge(source: Fixture.path("conversion/split/" + parts[parts.count - 1]), destination: destination)
        #expect(try FileSystem.readFile(destination) == Fixture.bytes("models/qwen3moe-tiny-gguf/qwen3moe-tiny-f16.gguf"))
        let llamaMerge = try Fixture.json("conversion/split/llama-merge.json")["merged"]!["metadata"]!.arrayValue!
        let merged = try GGUFFile(path: destination)
        #expect(merged.metadata.entries.map(\.key) == llamaMerge.map { $0["key"]!.stringValue! }.filter { !$0.hasPrefix("split.") })
    }

    @Test(arguments: [30_000, 100_000, 1_000_000])
    func ggufSplitThenMergeIsIdentical(limit: Int) throws {
        let directory = try temporaryDirectory()
        let original = Fixture.path("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf")
        let report = try Converter.convert(
            source: original, destination: PathName.join(directory, "s.gguf"), options: ConversionOptions(splitMaxSize: limit))
        for path in report.outputs {
            let part = try GGUFFile(path: path)
            let counted = part.tensorInfos.reduce(0) { $0 + SplitLayout.ggufCountedSize($1.byteCount) }
            #expect(counted <= limit || part.tensorInfos.count == 1, "\(path) holds \(counted) bytes")
        }
        let merged = PathName.join(directory, "m.gguf")
        _ = try Converter.merge(source: report.outputs.last!, destination: merged)
        #expect(try FileSystem.readFile(merged) == FileSystem.readFile(original))
    }

    /// Shards with an index, then merged: the reference writer's file again.
    @Test func safetensorsShardThenMergeIsIdentical() throws {
        let directory = try temporaryDirectory()
        let sharded = PathName.join(directory, "hf")
        let report = try Converter.convert(
            source: Fixture.path("models/qwen2-tiny"), destination: sharded, options: ConversionOptions(splitMaxSize: 100_000))
        let index = try JSON.parse(FileSystem.readFile(PathName.join(sharded, "model.safetensors.index.json")))
        let weightMap = index["weight_map"]!.objectValue!
        var total = 0
        var listed = 0
        for shardPath in report.outputs where shardPath.hasSuffix(".safetensors") {
            let shard = try SafeTensorsFile(path: shardPath)
            #expect(shard.metadata.map(\.key) == ["format"])
            for info in shard.tensorInfos {
                #expect(weightMap[info.name]?.stringValue == PathName.lastComponent(of: shardPath))
                total += info.dataEnd - info.dataBegin
                listed += 1
            }
        }
        #expect(listed == weightMap.count)
        #expect(index["metadata"]?["total_size"]?.intValue == total)
        let merged = PathName.join(directory, "model.safetensors")
        _ = try Converter.merge(source: sharded, destination: merged)
        #expect(try FileSystem.readFile(merged) == Fixture.bytes("models/qwen2-tiny/model.safetensors"))
    }

    @Test func existingPartIsRefusedBeforeWriting() throws {
        let directory = try temporaryDirectory()
        let taken = PathName.join(directory, "s-00002-of-00004.gguf")
        let output = try OutputFile(destination: taken)
        try output.write("keep")
        try output.commit()
        #expect(throws: WriteError.destinationExists(path: taken)) {
            try Converter.convert(
                source: Fixture.path("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"), destination: PathName.join(directory, "s.gguf"),
                options: ConversionOptions(splitMaxSize: 120_000))
        }
        #expect(try FileSystem.contentsOfDirectory(directory) == ["s-00002-of-00004.gguf"])
        #expect(try FileSystem.readFile(taken) == Array("keep".utf8))
    }

    @Test func mergeKeepsTheFormat() throws {
        let directory = try temporaryDirectory()
        let report = try Converter.convert(
            source: Fixture.path("models/qwen2-tiny-gguf/qwen2-tiny-f32.gguf"), destination: PathName.join(directory, "s.gguf"),
            options: ConversionOptions(splitMaxSize: 100_000))
        #expect(throws: ConversionError.mergeChangesFormat(from: "gguf", to: "safetensors")) {
            try Converter.merge(source: report.outputs[0], destination: PathName.join(directory, "m.safetensors"))
        }
        #expect(try FileSystem.contentsOfDirectory(directory).count == report.outputs.count)
    }

    func bytes(_ file: GGUFFile, _ info: GGUFTensorInfo) -> [UInt8] {
        Array(file.file.bytes[info.offset..<(info.offset + info.byteCount)])
    }
}
