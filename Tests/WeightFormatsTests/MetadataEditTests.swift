import Foundation
import Testing
@testable import WeightFormats

/// `MetadataEditor` against gguf-py's own editing scripts (outputs recorded by
/// Fixtures/generators/split_files.py), and every refused edit.
@Suite struct MetadataEditTests {
    static let source = "models/qwen3moe-tiny-gguf/qwen3moe-tiny-q8_0.gguf"

    /// A scratch copy of a fixture.
    func copy(_ relative: String, as name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "weightkit-meta-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        try FileManager.default.copyItem(atPath: Fixture.path(relative), toPath: path)
        return path
    }

    func edits(_ recorded: JSONValue) throws -> [MetadataEdit] {
        try recorded["set"]!.arrayValue!.map { try MetadataEdit.parseSet($0.stringValue!) }
            + recorded["delete"]!.arrayValue!.map { .delete(key: $0.stringValue!) }
    }

    @Test(arguments: [("new-metadata.gguf", false), ("set-metadata.gguf", true)])
    func editsEqualGGUFPyScripts(reference: String, inPlace: Bool) throws {
        let recorded = try Fixture.json("conversion/meta/meta.json")[reference]!
        let path = try copy(Self.source, as: "m.gguf")
        let outcome = try MetadataEditor.apply(try edits(recorded), to: path)
        #expect(inPlace == (outcome != .rewritten))
        #expect(try FileSystem.readFile(path) == FileSystem.readFile(Fixture.path("conversion/meta/" + reference)))
    }

    /// A new alignment re-aligns the data; tensors stay byte-identical.
    @Test func alignmentEditRealignsData() throws {
        let path = try copy(Self.source, as: "m.gguf")
        #expect(try MetadataEditor.apply([.set(key: "general.alignment", type: .uint32, value: "64")], to: path) == .rewritten)
        let edited = try GGUFFile(path: path)
        let original = try GGUFFile(path: Fixture.path(Self.source))
        #expect(edited.alignment == 64)
        #expect(edited.metadata.entries.map(\.key) == original.metadata.entries.map(\.key) + ["general.alignment"])
        for (a, b) in zip(edited.tensorInfos, original.tensorInfos) {
            #expect(a.relativeOffset % 64 == 0)
            #expect(Array(edited.file.bytes[a.offset..<(a.offset + a.byteCount)]) == Array(original.file.bytes[b.offset..<(b.offset + b.byteCount)]))
        }
    }

    @Test(arguments: [
        (MetadataEdit.set(key: "general.alignment", type: .uint32, value: "48"), FormatError.invalidAlignment(value: 48) as Error),
        (.set(key: "general.alignment", type: .uint32, value: "0"), FormatError.invalidAlignment(value: 0)),
        (.set(key: "general.alignment", type: .string, value: "64"),
         WriterError.invalidMetadata(key: "general.alignment", reason: "must be a UINT32, not STRING")),
        (.delete(key: "no.such.key"), MetadataEditError.keyNotFound(key: "no.such.key", path: "PATH")),
        (.set(key: "new.key", type: nil, value: "3"), MetadataEditError.typeRequired(key: "new.key")),
        (.set(key: "tokenizer.ggml.tokens", type: nil, value: "a"), MetadataEditError.arrayNotEditable(key: "tokenizer.ggml.tokens")),
        (.set(key: "qwen3moe.context_length", type: nil, value: "-1"),
         MetadataEditError.invalidValue(key: "qwen3moe.context_length", type: "UINT32", value: "-1", reason: "out of range 0...4294967295")),
        (.set(key: "k", type: .uint8, value: "256"), MetadataEditError.invalidValue(key: "k", type: "UINT8", value: "256", reason: "out of range 0...255")),
        (.set(key: "k", type: .int8, value: "x"), MetadataEditError.invalidValue(key: "k", type: "INT8", value: "x", reason: "not an integer")),
        (.set(key: "k", type: .bool, value: "yes"), MetadataEditError.invalidValue(key: "k", type: "BOOL", value: "yes", reason: "expected true or false")),
        (.set(key: "k", type: .float32, value: "abc"), MetadataEditError.invalidValue(key: "k", type: "FLOAT32", value: "abc", reason: "not a number")),
        (.set(key: "k", type: .float32, value: "1e40"), MetadataEditError.invalidValue(key: "k", type: "FLOAT32", value: "1e40", reason: "out of FLOAT32 range")),
    ])
    func refusedEditLeavesFileUntouched(edit: MetadataEdit, expected: Error) throws {
        let path = try copy(Self.source, as: "m.gguf")
        let before = try FileSystem.readFile(path)
        do {
            _ = try MetadataEditor.apply([edit], to: path)
            Issue.record("\(edit) was accepted")
        } catch let error as MetadataEditError {
            if case .keyNotFound(let key, _) = error {
                #expect(MetadataEditError.keyNotFound(key: key, path: "PATH") == expected as? MetadataEditError)
            } else {
                #expect(error == expected as? MetadataEditError)
            }
        } catch let error as FormatError {
            #expect(error == expected as? FormatError)
        } catch let error as WriterError {
            #expect(error == expected as? WriterError)
        }
        #expect(try FileSystem.readFile(path) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: PathName.directory(of: path)) == ["m.gguf"])
    }

    @Test(arguments: ["noequals", "=value", "k:UINT9=1", "k:ARRAY=1"])
    func malformedSetIsRefused(text: String) {
        #expect(throws: MetadataEditError.self) { try MetadataEdit.parseSet(text) }
    }

    /// safetensors `__metadata__`: a same-size change in place, a longer one rewritten; the
    /// tensors stay those the safetensors package wrote.
    @Test func safetensorsMetadataEdits() throws {
        let original = try SafeTensorsFile(path: Fixture.path("models/qwen2-tiny/model.safetensors"))
        let path = try copy("models/qwen2-tiny/model.safetensors", as: "m.safetensors")
        #expect(try MetadataEditor.apply([.set(key: "format", type: nil, value: "np")], to: path) == .inPlace(bytes: 2))
        #expect(try MetadataEditor.apply([.set(key: "note", type: .string, value: String(repeating: "é", count: 200))], to: path) == .rewritten)
        let edited = try SafeTensorsFile(path: path)
        #expect(edited.metadata.map(\.key) == ["format", "note"])
        #expect(edited.metadata.map(\.value) == ["np", String(repeating: "é", count: 200)])
        for info in original.tensorInfos {
            let mine = edited.tensorInfos.first { $0.name == info.name }!
            #expect(Array(edited.file.bytes[(edited.dataOffset + mine.dataBegin)..<(edited.dataOffset + mine.dataEnd)])
                == Array(original.file.bytes[(original.dataOffset + info.dataBegin)..<(original.dataOffset + info.dataEnd)]))
        }
        #expect(throws: MetadataEditError.typeNotStorable(key: "n", type: "INT8", format: "safetensors")) {
            try MetadataEditor.apply([.set(key: "n", type: .int8, value: "1")], to: path)
        }
        #expect(throws: MetadataEditError.keyNotFound(key: "absent", path: path)) {
            try MetadataEditor.apply([.delete(key: "absent")], to: path)
        }
    }
}
