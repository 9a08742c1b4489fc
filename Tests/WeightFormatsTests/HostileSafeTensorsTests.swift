import Testing
@testable import WeightFormats

/// One crafted safetensors file per defect, each expecting its own error case: no crash, no
/// trap, no allocation sized by an unchecked length, under a second each.
@Suite struct HostileSafeTensorsTests {
    /// A file: the 8-byte little-endian header length, the header, then `data`.
    static func file(header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        var out = LEBytes()
        out.u64(length ?? UInt64(header.utf8.count))
        out.raw(Array(header.utf8))
        out.raw(data)
        return out.bytes
    }

    /// A header of `tensors` (JSON members) with optional `__metadata__`.
    static func header(_ tensors: [String], metadata: String? = nil) -> String {
        "{" + ((metadata.map { ["\"__metadata__\":\($0)"] } ?? []) + tensors).joined(separator: ",") + "}"
    }

    static func tensor(_ name: String, _ dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]") -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    func error(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
        hostileError(bytes, name: "hostile.safetensors", sourceLocation: sourceLocation) { try SafeTensorsFile(path: $0) }
    }

    func error(_ header: String, data: [UInt8] = Array(repeating: 0, count: 8), sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
        error(Self.file(header: header, data: data), sourceLocation: sourceLocation)
    }

    @Test("a well-formed file opens (the baseline every case below breaks one thing of)")
    func baseline() throws {
        #expect(error(Self.header([Self.tensor("a")], metadata: "{\"format\":\"pt\"}")) == nil)
    }

    @Test("header length under 8 bytes of file, over 100 MB, or past the end")
    func headerLength() {
        #expect(error([1, 2, 3]) == .headerTooSmall(fileSize: 3))
        let huge = UInt64(SafeTensorsLimits.maxHeaderLength) + 1
        #expect(error(Self.file(header: "{}", length: huge)) == .headerTooLarge(length: huge, limit: SafeTensorsLimits.maxHeaderLength))
        #expect(error(Self.file(header: "{}", length: UInt64.max)) == .headerTooLarge(length: UInt64.max, limit: SafeTensorsLimits.maxHeaderLength))
        let bytes = Self.file(header: "{}", length: 1000)
        #expect(error(bytes) == .headerPastEnd(length: 1000, fileSize: bytes.count))
    }

    @Test("invalid UTF-8 and invalid JSON in the header")
    func invalidHeader() {
        var bytes = Self.file(header: Self.header([Self.tensor("ab")]), data: Array(repeating: 0, count: 8))
        bytes[10] = 0xff  // inside the first name
        #expect(error(bytes) == .invalidUTF8(field: "safetensors header", offset: 8))
        guard case .invalidJSON = error("{\"a\": ") else { Issue.record("truncated JSON"); return }
        guard case .invalidJSON = error("{\"a\":{\"dtype\":F32}}") else { Issue.record("bare word"); return }
        #expect(error("[1,2]") == .headerNotObject)
    }

    @Test("nesting far deeper than any header needs")
    func deepNesting() {
        let deep = "{\"__metadata__\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        guard case .jsonNestingTooDeep = error(deep) else { Issue.record("expected jsonNestingTooDeep"); return }
    }

    @Test("duplicate keys, in the header and in __metadata__")
    func duplicateKeys() {
        guard case .duplicateKey(let key, _) = error(Self.header([Self.tensor("a"), Self.tensor("a")])), key == "a" else {
            Issue.record("duplicate tensor"); return
        }
        guard case .duplicateKey(let inner, _) = error(Self.header([Self.tensor("a")], metadata: "{\"k\":\"1\",\"k\":\"2\"}")), inner == "k" else {
            Issue.record("duplicate metadata key"); return
        }
    }

    @Test("unknown dtypes and missing or mistyped fields")
    func fields() {
        #expect(error(Self.header([Self.tensor("a", "F33")])) == .unknownDType(tensor: "a", dtype: "F33"))
        #expect(error(Self.header([Self.tensor("a", "f32")])) == .unknownDType(tensor: "a", dtype: "f32"))
        #expect(error("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}") == .missingField(tensor: "a", field: "dtype"))
        #expect(error("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}") == .missingField(tensor: "a", field: "shape"))
        #expect(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}") == .missingField(tensor: "a", field: "data_offsets"))
        guard case .wrongFieldType(_, "dtype", _) = error("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}") else {
            Issue.record("numeric dtype"); return
        }
        guard case .wrongFieldType(_, "shape", _) = error(Self.header([Self.tensor("a", shape: "[2.5]")])) else {
            Issue.record("fractional dimension"); return
        }
        guard case .wrongFieldType(_, "data_offsets", _) = error(Self.header([Self.tensor("a", offsets: "[0]")])) else {
            Issue.record("one offset"); return
        }
        guard case .wrongFieldType(_, "data_offsets", _) = error(Self.header([Self.tensor("a", offsets: "[0,99999999999999999999999]")])) else {
            Issue.record("offset beyond Int"); return
        }
        guard case .wrongFieldType = error("{\"a\":[1,2]}") else { Issue.record("tensor entry not an object"); return }
    }

    @Test("negative dimensions and shapes whose size overflows")
    func shapes() {
        #expect(error(Self.header([Self.tensor("a", shape: "[-2]")])) == .invalidDimension(tensor: "a", index: 0, value: "-2"))
        #expect(error(Self.header([Self.tensor("a", shape: "[4294967296,4294967296]")])) == .shapeOverflow(tensor: "a"))
        #expect(error(Self.header([Self.tensor("a", shape: "[99999999999999999999]")])) == .shapeOverflow(tensor: "a"))
        // Elements fit, bits do not: 2^61 float32 values are 2^66 bits.
        #expect(error(Self.header([Self.tensor("a", shape: "[2305843009213693952]")])) == .shapeOverflow(tensor: "a"))
    }

    @Test("a byte range that does not match the shape and dtype")
    func sizeMismatch() {
        #expect(error(Self.header([Self.tensor("a", shape: "[3]")])) == .byteSizeMismatch(tensor: "a", expected: 12, found: 8))
        #expect(error(Self.header([Self.tensor("a", "F4", shape: "[3]", offsets: "[0,2]")]), data: [0, 0])
                == .subByteSizeNotWhole(tensor: "a", dtype: "F4", bits: 12))
    }

    @Test("reversed, gapped and overlapping offsets")
    func offsets() {
        #expect(error(Self.header([Self.tensor("a", offsets: "[8,0]")])) == .offsetsReversed(tensor: "a", begin: 8, end: 0))
        let gap = Self.header([Self.tensor("a"), Self.tensor("b", offsets: "[12,20]")])
        #expect(error(gap, data: Array(repeating: 0, count: 20)) == .offsetsGap(tensor: "b", expected: 8, found: 12))
        let first = Self.header([Self.tensor("a", offsets: "[4,12]")])
        #expect(error(first, data: Array(repeating: 0, count: 12)) == .offsetsGap(tensor: "a", expected: 0, found: 4))
        let overlap = Self.header([Self.tensor("a"), Self.tensor("b", offsets: "[4,12]")])
        #expect(error(overlap, data: Array(repeating: 0, count: 12)) == .offsetsOverlap(tensor: "b", previousEnd: 8, begin: 4))
    }

    @Test("data past the end of the file, and trailing bytes after the last tensor")
    func dataBounds() {
        let header = Self.header([Self.tensor("a")])
        let headerEnd = 8 + header.utf8.count
        #expect(error(header, data: [0, 0, 0]) == .tensorOutOfBounds(tensor: "a", offset: headerEnd, size: 8, fileSize: headerEnd + 3))
        #expect(error(header, data: Array(repeating: 0, count: 9)) == .trailingBytes(dataEnd: headerEnd + 8, fileSize: headerEnd + 9))
        // An end offset of 2^60 (bits just below Int.max) must not overflow while the error is built.
        let far = Self.header([Self.tensor("a", "U8", shape: "[1152921504606846975]", offsets: "[0,1152921504606846975]")])
        guard case .tensorOutOfBounds(let name, _, _, _) = error(far) else { Issue.record("far offsets"); return }
        #expect(name == "a")
    }

    @Test("__metadata__ that is not a map of strings")
    func metadata() {
        #expect(error(Self.header([Self.tensor("a")], metadata: "{\"n\":1}")) == .metadataNotString(key: "n"))
        #expect(error(Self.header([Self.tensor("a")], metadata: "{\"n\":null}")) == .metadataNotString(key: "n"))
        guard case .wrongFieldType = error(Self.header([Self.tensor("a")], metadata: "[\"x\"]")) else {
            Issue.record("metadata array"); return
        }
    }

    @Test("every truncation of a valid file is refused")
    func truncations() {
        let bytes = Self.file(header: Self.header([Self.tensor("a"), Self.tensor("b", "F16", offsets: "[8,12]")], metadata: "{\"k\":\"v\"}"),
                              data: Array(repeating: 1, count: 12))
        #expect(error(bytes) == nil)
        for length in 0..<bytes.count {
            #expect(error(Array(bytes[..<length])) != nil, "prefix of \(length) bytes")
        }
    }
}
