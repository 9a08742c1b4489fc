import Testing
@testable import WeightFormats

/// GGUF files written by gguf-py, read back and compared with gguf-py's own reading
/// (Fixtures/generators/gguf_files.py).
@Suite struct GGUFReaderTests {
    /// Whether a metadata value equals the value recorded by the fixture script.
    static func matches(_ value: GGUFValue, _ expected: JSONValue) -> Bool {
        switch value {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .int64:
            return value.intValue == expected.intValue
        case .uint64(let v):
            if case .number(let n) = expected { return n.uint64 == v }
            return false
        case .bool(let v):
            return expected.boolValue == v
        case .float32(let v):
            return floatMatches(Double(v), expected, asFloat32: true)
        case .float64(let v):
            return floatMatches(v, expected, asFloat32: false)
        case .string(let s):
            if let text = expected.stringValue { return Array(s.bytes) == Array(text.utf8) }
            if let bytes = expected["bytes"]?.arrayValue { return Array(s.bytes) == bytes.compactMap { $0.intValue.map(UInt8.init) } }
            return false
        case .array(let array):
            guard let elements = expected.arrayValue, elements.count == array.count else { return false }
            return zip(array, elements).allSatisfy { matches($0, $1) }
        }
    }

    static func floatMatches(_ value: Double, _ expected: JSONValue, asFloat32: Bool) -> Bool {
        switch expected {
        case .string("NaN"): return value.isNaN
        case .string("Infinity"): return value == .infinity
        case .string("-Infinity"): return value == -.infinity
        case .number(let n):
            return asFloat32 ? Float(n.double).bitPattern == Float(value).bitPattern : n.double.bitPattern == value.bitPattern
        default: return false
        }
    }

    /// Checks a file against its recorded reading.
    static func checkReading(_ file: GGUFFile, _ expected: JSONValue) throws {
        #expect(file.byteOrder == (expected["byte_order"]?.stringValue == "big" ? .bigEndian : .littleEndian))
        #expect(file.alignment == expected["alignment"]?.intValue)
        if !file.tensorInfos.isEmpty { #expect(file.dataOffset == expected["data_offset"]?.intValue) }
        let entries = try #require(expected["metadata"]?.arrayValue)
        var position = 0
        for entry in entries {
            let key = try #require(entry["key"]?.stringValue)
            // The listing skips split keys gguf-py adds; find the key in order.
            while position < file.metadata.count && file.metadata[position].key != key { position += 1 }
            guard position < file.metadata.count else { Issue.record("key \(key) missing or out of order"); return }
            let ours = file.metadata[position]
            #expect(ours.value.typeName == entry["type"]?.stringValue, "type of \(key)")
            #expect(ours.offset == entry["offset"]?.intValue, "offset of \(key)")
            if let value = entry["value"] { #expect(matches(ours.value, value), "value of \(key)") }
        }
        let tensors = try #require(expected["tensors"]?.arrayValue)
        #expect(file.tensorInfos.count == tensors.count)
        for (ours, theirs) in zip(file.tensorInfos, tensors) {
            #expect(ours.name == theirs["name"]?.stringValue)
            #expect(ours.type.name == theirs["type"]?.stringValue)
            #expect(ours.shape == theirs["shape"]?.arrayValue?.compactMap(\.intValue))
            #expect(ours.offset == theirs["offset"]?.intValue)
            #expect(ours.byteCount == theirs["nbytes"]?.intValue)
        }
    }

    @Test("every metadata value type, arrays of arrays, alignment 64")
    func metadataFile() throws {
        let file = try GGUFFile(path: Fixture.path("core/metadata.gguf"))
        #expect(file.version == 3)
        try Self.checkReading(file, try Fixture.json("core/metadata.json"))
        // Invalid UTF-8 in a value is kept and reported, not refused.
        let invalid = file.invalidUTF8Strings()
        #expect(invalid.map(\.key) == ["test.string_invalid_utf8"])
        #expect(file.metadata.string("test.string_invalid_utf8")?.contains("\u{FFFD}") == true)
    }

    @Test("string arrays are indexed, not decoded up front")
    func lazyArrays() throws {
        let file = try GGUFFile(path: Fixture.path("core/metadata.gguf"))
        let tokens = try #require(file.metadata.array("tokenizer.ggml.tokens"))
        #expect(tokens.count == 1000)
        #expect(tokens.elementType == .string)
        #expect(tokens[999].stringValue == "tok999")
        #expect(tokens.string(at: 500)?.value == "tok500")
        #expect(tokens.strings()?.first == "tok0")
    }

    @Test("version 2")
    func version2() throws {
        let file = try GGUFFile(path: Fixture.path("core/version2.gguf"))
        #expect(file.version == 2)
        try Self.checkReading(file, try Fixture.json("core/version2.json"))
    }

    @Test("big-endian file converted by gguf_convert_endian.py")
    func bigEndian() throws {
        let file = try GGUFFile(path: Fixture.path("core/bigendian.gguf"))
        #expect(file.byteOrder == .bigEndian)
        try Self.checkReading(file, try Fixture.json("core/bigendian.json"))
        let checkpoint = try Checkpoint.open(Fixture.path("core/bigendian.gguf"))
        for tensor in checkpoint.tensors {
            let expected = try NPY.read(Fixture.path("core/bigendian/\(tensor.name).npy"))
            let decoded = try tensor.floats()
            #expect(decoded.map(\.bitPattern) == expected.values.map(\.bitPattern), "\(tensor.name)")
        }
    }

    @Test("split set opens as one file from any part", arguments: [1, 2, 3])
    func splitSet(part: Int) throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/split/tiny-0000\(part)-of-00003.gguf"))
        let parts = try #require(try Fixture.json("core/split/split.json")["parts"]?.arrayValue)
        #expect(checkpoint.ggufParts.count == 3)
        for (file, reading) in zip(checkpoint.ggufParts, parts) {
            try Self.checkReading(file, reading)
        }
        let expectedNames = try parts.flatMap { try #require($0["tensors"]?.arrayValue) }.compactMap { $0["name"]?.stringValue }
        #expect(checkpoint.tensors.map(\.name) == expectedNames)
        #expect(checkpoint.tensors.first?.fileName == "tiny-00001-of-00003.gguf")
        #expect(checkpoint.gguf?.metadata.string("general.name") == "tiny")
        // Tensors in later parts decode like any other.
        let last = try #require(checkpoint.tensors.last)
        #expect(try last.floats().count == last.elementCount)
    }

    @Test("values decode like gguf-py's")
    func tinyModelValues() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/tiny.gguf"))
        try Self.checkReading(try #require(checkpoint.gguf), try Fixture.json("core/tiny.json"))
        for tensor in checkpoint.tensors {
            let expected = try NPY.read(Fixture.path("core/tiny/\(tensor.name).npy"))
            #expect(tensor.shape == expected.shape)
            #expect(try tensor.floats().map(\.bitPattern) == expected.values.map(\.bitPattern), "\(tensor.name)")
        }
    }

    @Test("zero-copy typed access")
    func typedAccess() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("core/tiny.gguf"))
        let embedding = try checkpoint.requireTensor("token_embd.weight")
        let sum = try embedding.withElements(as: Float.self) { $0.reduce(0, +) }
        #expect(sum == (try embedding.floats()).reduce(0, +))
        let ids = try checkpoint.requireTensor("blk.1.ids")
        #expect(try ids.withElements(as: Int32.self) { $0.count } == 16)
        #expect(formatError { try ids.withElements(as: Float.self) { $0.count } } != nil)
    }
}

/// The real vocabulary files from llama.cpp's repository (../shared/realdata), against gguf-py.
@Suite struct RealDataTests {
    static let files = ["ggml-vocab-qwen2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf"]

    @Test("real vocabulary files read as gguf-py reads them", arguments: files)
    func realFile(name: String) throws {
        guard let path = Fixture.realData(name) else {
            print("skipped: ../shared/realdata/\(name) is not present")
            return
        }
        let expected = try #require(try Fixture.json("core/realdata.json")[name])
        let file = try GGUFFile(path: path)
        #expect(file.tensorInfos.count == expected["tensor_count"]?.intValue)
        let keys = try #require(expected["keys"]?.objectValue)
        #expect(file.metadata.count == keys.count)
        for (key, entry) in keys {
            let value = try #require(file.metadata[key], "missing \(key)")
            #expect(value.typeName == entry["type"]?.stringValue, "\(key)")
            if let array = value.arrayValue {
                #expect(array.count == entry["count"]?.intValue, "\(key) count")
                let first = try #require(entry["first"]?.arrayValue), last = try #require(entry["last"]?.arrayValue)
                for (i, e) in first.enumerated() { #expect(GGUFReaderTests.matches(array[i], e), "\(key)[\(i)]") }
                for (i, e) in last.enumerated() { #expect(GGUFReaderTests.matches(array[array.count - last.count + i], e), "\(key) tail") }
                let middle = try #require(entry["middle_index"]?.intValue)
                #expect(GGUFReaderTests.matches(array[middle], try #require(entry["middle"])), "\(key)[\(middle)]")
            } else {
                #expect(GGUFReaderTests.matches(value, try #require(entry["value"])), "\(key)")
            }
        }
    }
}
