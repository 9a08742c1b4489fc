#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import WeightFormats

// MARK: - Temporary files (shared with HostileSafeTensorsTests)

/// A directory under /tmp made by mkdtemp, removed with everything in it when the body returns.
struct HostileDirectory {
    let path: String

    static func with<T>(_ body: (HostileDirectory) throws -> T) throws -> T {
        var template = Array("/tmp/weightkit-hostile-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FormatError.cannotOpen(path: "/tmp", reason: "mkdtemp failed")
        }
        let directory = HostileDirectory(path: String(cString: made))
        defer { directory.removeAll() }
        return try body(directory)
    }

    /// Writes `bytes` to `name` in the directory (replacing it) and returns the path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = PathName.join(self.path, name)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "cannot create \(path)")
        defer { close(fd) }
        writeAll(fd, bytes)
        return path
    }

    func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }

    func removeAll() {
        for name in (try? FileSystem.contentsOfDirectory(path)) ?? [] { unlink(PathName.join(path, name)) }
        rmdir(path)
    }
}

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var done = 0
        while done < buffer.count {
            let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
            precondition(n > 0, "write failed")
            done += n
        }
    }
}

/// Runs `body` on a fresh file holding `bytes` and returns the root `FormatError` it throws;
/// records an issue when it throws something else or takes a second or more.
func hostileError<T>(
    _ bytes: [UInt8], name: String = "hostile.gguf", sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (String) throws -> T
) -> FormatError? {
    do {
        return try HostileDirectory.with { directory in
            let path = directory.write(name, bytes)
            let clock = ContinuousClock()
            var error: FormatError?
            let elapsed = clock.measure { error = formatError { try body(path) } }
            #expect(elapsed < .seconds(1), "took \(elapsed)", sourceLocation: sourceLocation)
            return error
        }
    } catch {
        Issue.record("temporary file: \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - A GGUF writer that can get exactly one thing wrong

/// Little-endian byte appends.
struct LEBytes {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    /// A GGUF string: u64 length, then the bytes.
    mutating func string(_ b: [UInt8]) { u64(UInt64(b.count)); raw(b) }
}

/// A metadata value as written: any type id, any claimed count, any bytes.
indirect enum GV {
    case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32), f32(Float)
    case u64(UInt64), i64(Int64), f64(Double)
    /// A bool with its raw byte (only 0 and 1 are valid).
    case bool(UInt8)
    case string([UInt8])
    /// An array whose count is the number of elements given.
    case array(UInt32, [GV])
    /// An array header claiming `count` elements of `elementType`, followed by `payload`.
    case arrayClaiming(elementType: UInt32, count: UInt64, payload: [UInt8])
    /// Any type id with any payload.
    case raw(type: UInt32, payload: [UInt8])

    static func str(_ s: String) -> GV { .string(Array(s.utf8)) }

    static let typeU8: UInt32 = 0, typeI8: UInt32 = 1, typeU16: UInt32 = 2, typeI16: UInt32 = 3, typeU32: UInt32 = 4
    static let typeI32: UInt32 = 5, typeF32: UInt32 = 6, typeBool: UInt32 = 7, typeString: UInt32 = 8
    static let typeArray: UInt32 = 9, typeU64: UInt32 = 10, typeI64: UInt32 = 11, typeF64: UInt32 = 12

    var typeID: UInt32 {
        switch self {
        case .u8: GV.typeU8
        case .i8: GV.typeI8
        case .u16: GV.typeU16
        case .i16: GV.typeI16
        case .u32: GV.typeU32
        case .i32: GV.typeI32
        case .f32: GV.typeF32
        case .u64: GV.typeU64
        case .i64: GV.typeI64
        case .f64: GV.typeF64
        case .bool: GV.typeBool
        case .string: GV.typeString
        case .array, .arrayClaiming: GV.typeArray
        case .raw(let type, _): type
        }
    }

    /// The value's bytes without its type id.
    func write(into out: inout LEBytes) {
        switch self {
        case .u8(let v): out.u8(v)
        case .i8(let v): out.u8(UInt8(bitPattern: v))
        case .u16(let v): out.u16(v)
        case .i16(let v): out.u16(UInt16(bitPattern: v))
        case .u32(let v): out.u32(v)
        case .i32(let v): out.u32(UInt32(bitPattern: v))
        case .f32(let v): out.u32(v.bitPattern)
        case .u64(let v): out.u64(v)
        case .i64(let v): out.u64(UInt64(bitPattern: v))
        case .f64(let v): out.u64(v.bitPattern)
        case .bool(let v): out.u8(v)
        case .string(let b): out.string(b)
        case .array(let type, let elements):
            out.u32(type)
            out.u64(UInt64(elements.count))
            for element in elements { element.write(into: &out) }
        case .arrayClaiming(let type, let count, let payload):
            out.u32(type)
            out.u64(count)
            out.raw(payload)
        case .raw(_, let payload): out.raw(payload)
        }
    }
}

/// A small GGUF file. Every field can be set to something wrong; the rest stays valid.
struct GGUFBytes {
    struct Tensor {
        var name: [UInt8]
        var dimensions: [UInt64]
        var type: UInt32 = 0  // F32
        /// Written instead of `dimensions.count` when set.
        var dimensionCount: UInt32?
        /// Written instead of the computed offset when set.
        var offset: UInt64?
        /// Data bytes laid out for the tensor; by default its type's byte count.
        var dataBytes: Int?
    }

    /// Where things ended up in the last `build()`.
    struct Layout {
        var keyOffsets: [Int] = []
        var tensorInfoOffsets: [Int] = []
        var headerEnd = 0
        var dataOffset = 0
        /// Absolute offset of each tensor's laid-out data.
        var tensorDataOffsets: [Int] = []
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var tensorCount: UInt64?
    var keyCount: UInt64?
    var metadata: [(key: [UInt8], value: GV)] = []
    var tensors: [Tensor] = []
    /// The alignment used for padding (set `general.alignment` separately).
    var alignment = 32
    /// Bytes removed from the end of the file.
    var dropLast = 0

    mutating func kv(_ key: String, _ value: GV) { metadata.append((Array(key.utf8), value)) }

    mutating func tensor(_ name: String, _ dimensions: [UInt64], type: UInt32 = 0) {
        tensors.append(Tensor(name: Array(name.utf8), dimensions: dimensions, type: type))
    }

    static func dataSize(_ tensor: Tensor) -> Int {
        if let size = tensor.dataBytes { return size }
        guard let type = GGMLType(rawValue: tensor.type) else { return 0 }
        var elements = 1
        for d in tensor.dimensions {
            let (p, o) = elements.multipliedReportingOverflow(by: Int(truncatingIfNeeded: d))
            if o || d > UInt64(Int.max) { return 0 }
            elements = p
        }
        let size = type.byteCount(elements: elements) ?? 0
        return size <= 1 << 20 ? size : 0
    }

    func build() -> (bytes: [UInt8], layout: Layout) {
        var out = LEBytes()
        var layout = Layout()
        out.raw(magic)
        out.u32(version)
        out.u64(tensorCount ?? UInt64(tensors.count))
        out.u64(keyCount ?? UInt64(metadata.count))
        for (key, value) in metadata {
            layout.keyOffsets.append(out.bytes.count)
            out.string(key)
            out.u32(value.typeID)
            value.write(into: &out)
        }
        // Data layout: each tensor at the next aligned offset, no padding after the last.
        var relative: [Int] = []
        var running = 0
        for tensor in tensors {
            running = (running + alignment - 1) / alignment * alignment
            relative.append(running)
            running += Self.dataSize(tensor)
        }
        for (tensor, offset) in zip(tensors, relative) {
            layout.tensorInfoOffsets.append(out.bytes.count)
            out.string(tensor.name)
            out.u32(tensor.dimensionCount ?? UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { out.u64(d) }
            out.u32(tensor.type)
            out.u64(tensor.offset ?? UInt64(offset))
        }
        layout.headerEnd = out.bytes.count
        if !tensors.isEmpty {
            while out.bytes.count % alignment != 0 { out.u8(0) }
            layout.dataOffset = out.bytes.count
            var data = [UInt8](repeating: 0, count: running)
            for (tensor, offset) in zip(tensors, relative) {
                for i in 0..<Self.dataSize(tensor) { data[offset + i] = UInt8(truncatingIfNeeded: i &+ 1) }
                layout.tensorDataOffsets.append(layout.dataOffset + offset)
            }
            out.raw(data)
        }
        return (Array(out.bytes.dropLast(dropLast)), layout)
    }

    var bytes: [UInt8] { build().bytes }

    /// A valid file with metadata of every kind (scalars, strings, arrays of strings, arrays
    /// of arrays) and two tensors, the second one last in the file.
    static func rich() -> GGUFBytes {
        var g = GGUFBytes()
        g.kv("general.architecture", .str("llama"))
        g.kv("a.u8", .u8(7))
        g.kv("a.i16", .i16(-3))
        g.kv("a.u32", .u32(70_000))
        g.kv("a.f32", .f32(1.5))
        g.kv("a.bool", .bool(1))
        g.kv("a.f64", .f64(-2.25))
        g.kv("a.strings", .array(GV.typeString, [.str("a"), .str("bc"), .str("")]))
        g.kv("a.i32s", .array(GV.typeI32, [.i32(1), .i32(-2), .i32(3)]))
        g.kv("a.nested", .array(GV.typeArray, [.array(GV.typeU8, [.u8(1), .u8(2)]), .array(GV.typeU8, [.u8(3)])]))
        g.kv("z.u64", .u64(1 << 40))
        g.tensor("w", [4, 2])                              // F32, 32 bytes
        g.tensor("q", [32, 1], type: GGMLType.q8_0.rawValue)  // 34 bytes
        return g
    }

    /// A valid file with one F32 tensor and a key, for single-defect variations.
    static func minimal() -> GGUFBytes {
        var g = GGUFBytes()
        g.kv("general.architecture", .str("llama"))
        g.tensor("t", [4])
        return g
    }
}

/// Opens GGUF bytes from a temporary file and returns the root error.
func ggufError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
    hostileError(bytes, sourceLocation: sourceLocation) { try GGUFFile(path: $0) }
}

func ggufError(_ g: GGUFBytes, sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
    ggufError(g.bytes, sourceLocation: sourceLocation)
}

/// Whether `error` is `.truncated` for exactly `field`.
func isTruncated(_ error: FormatError?, _ field: String) -> Bool {
    if case .truncated(field, _, _, _) = error { return true }
    return false
}

// MARK: - Tests

@Suite struct HostileGGUFTests {
    @Test("the builder writes files the parser accepts")
    func baselines() throws {
        let (bytes, layout) = GGUFBytes.rich().build()
        let file = try HostileDirectory.with { try GGUFFile(path: $0.write("rich.gguf", bytes)) }
        #expect(file.metadata.count == 11)
        #expect(file.metadata.string("general.architecture") == "llama")
        #expect(file.metadata.array("a.strings")?.strings() == ["a", "bc", ""])
        #expect(file.metadata.array("a.nested")?.count == 2)
        #expect(file.metadata["a.nested"]?.typeName == "ARRAY[ARRAY[UINT8]]")
        #expect(file.tensorInfos.map(\.name) == ["w", "q"])
        #expect(file.tensorInfos.map(\.offset) == layout.tensorDataOffsets)
        #expect(file.dataOffset == layout.dataOffset)
        #expect(layout.tensorDataOffsets[1] + 34 == bytes.count)
        #expect(ggufError(GGUFBytes.minimal()) == nil)
    }

    // MARK: Truncation

    @Test("every strict prefix of a valid file throws")
    func everyPrefixThrows() throws {
        let bytes = GGUFBytes.rich().bytes
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try HostileDirectory.with { directory in
                for length in 0..<bytes.count {
                    let path = directory.write("prefix.gguf", Array(bytes[..<length]))
                    let error = formatError { try GGUFFile(path: path) }
                    #expect(error != nil, "prefix of \(length) of \(bytes.count) bytes was accepted")
                }
                #expect(formatError { try GGUFFile(path: directory.write("whole.gguf", bytes)) } == nil)
            }
        }
        #expect(elapsed < .seconds(10))
    }

    @Test("truncation inside named fields")
    func namedTruncations() throws {
        let (bytes, layout) = GGUFBytes.rich().build()
        func cut(_ length: Int) -> FormatError? { ggufError(Array(bytes[..<length])) }

        if case .emptyFile = cut(0) {} else { Issue.record("empty file") }
        #expect(isTruncated(cut(3), "magic"))
        #expect(isTruncated(cut(6), "version"))
        #expect(isTruncated(cut(12), "tensor count"))
        #expect(isTruncated(cut(20), "metadata key count"))
        // Inside the value of the last key ("z.u64" sits right before the tensor infos).
        let lastKey = layout.keyOffsets.last!
        #expect(isTruncated(cut(lastKey + 8 + 5 + 4 + 3), "value of 'z.u64'"))
        // Inside the second tensor info: its name, first dimension, type and offset.
        let q = layout.tensorInfoOffsets[1]
        #expect(isTruncated(cut(q + 4), "tensor name length"))
        #expect(isTruncated(cut(q + 8 + 1 + 4 + 3), "dimension 0 of 'q'"))
        #expect(isTruncated(cut(q + 8 + 1 + 4 + 16 + 2), "type of 'q'"))
        #expect(isTruncated(cut(q + 8 + 1 + 4 + 16 + 4 + 7), "data offset of 'q'"))
        // After the infos, before the aligned data section.
        #expect(layout.headerEnd % 32 != 0)
        if case .dataSectionPastEnd(let dataOffset, let fileSize) = cut(layout.headerEnd) {
            #expect(dataOffset == layout.dataOffset && fileSize == layout.headerEnd)
        } else { Issue.record("header end") }
        // One byte short of the end: the last tensor runs past it.
        if case .tensorOutOfBounds("q", let offset, 34, let fileSize) = cut(bytes.count - 1) {
            #expect(offset == layout.tensorDataOffsets[1] && fileSize == bytes.count - 1)
        } else { Issue.record("last data byte") }
        // Inside the first tensor's data.
        if case .tensorOutOfBounds("w", _, 32, _) = cut(layout.dataOffset + 5) {} else { Issue.record("first data") }
    }

    @Test("a string or key longer than the bytes left")
    func stringPastEnd() {
        var g = GGUFBytes()
        g.kv("k", .raw(type: GV.typeString, payload: [100, 0, 0, 0, 0, 0, 0, 0] + Array("abc".utf8)))
        if case .truncated("string in 'k'", _, 100, 3) = ggufError(g) {} else { Issue.record("string value") }

        var huge = GGUFBytes()
        huge.kv("k", .raw(type: GV.typeString, payload: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x61]))
        #expect(isTruncated(ggufError(huge), "string in 'k'"))

        var key = LEBytes()
        key.raw(Array("GGUF".utf8)); key.u32(3); key.u64(0); key.u64(1)
        key.u64(1 << 62); key.raw(Array("general.name-and-some-more".utf8))
        #expect(isTruncated(ggufError(key.bytes), "metadata key"))
    }

    // MARK: Header

    @Test("uint64 values above Int.max read as numbers (regression: found by the GGUF fuzzer)")
    func hugeUnsignedValues() throws {
        var g = GGUFBytes.minimal()
        g.kv("big", .u64(.max))
        g.kv("bigs", .array(GV.typeU64, [.u64(.max), .u64(1)]))
        let file = try HostileDirectory.with { try GGUFFile(path: $0.write("big.gguf", g.bytes)) }
        #expect(file.metadata["big"]?.intValue == nil)
        #expect(file.metadata["big"]?.doubleValue == Double(UInt64.max))
        #expect(file.metadata["bigs"]?.arrayValue?.doubles() == [Double(UInt64.max), 1])
        #expect(file.metadata["bigs"]?.arrayValue?.integers() == nil)
    }

    @Test("wrong magic")
    func wrongMagic() {
        var g = GGUFBytes.minimal()
        g.magic = Array("GGUG".utf8)
        #expect(ggufError(g) == .badMagic(found: Array("GGUG".utf8)))
        g.magic = [0, 0, 0, 0]
        #expect(ggufError(g) == .badMagic(found: [0, 0, 0, 0]))
    }

    @Test("unsupported versions", arguments: [UInt32(0), 1, 99, 4, 0xFFFF_FFFF])
    func versions(version: UInt32) {
        var g = GGUFBytes.minimal()
        g.version = version
        #expect(ggufError(g) == .unsupportedVersion(version))
    }

    @Test("version 2 is accepted")
    func version2() {
        var g = GGUFBytes.minimal()
        g.version = 2
        #expect(ggufError(g) == nil)
    }

    @Test("tensor and key counts of 2^63")
    func hugeCounts() {
        var tensors = GGUFBytes.minimal()
        tensors.tensorCount = 1 << 63
        if case .countTooLarge("tensor count", 1 << 63, 8, _) = ggufError(tensors) {} else { Issue.record("tensor count") }

        var keys = GGUFBytes.minimal()
        keys.keyCount = 1 << 63
        if case .countTooLarge("metadata key count", 1 << 63, 16, _) = ggufError(keys) {} else { Issue.record("key count") }

        var both = GGUFBytes.minimal()
        both.keyCount = .max
        both.tensorCount = .max
        if case .countTooLarge(_, UInt64.max, _, _) = ggufError(both) {} else { Issue.record("both") }
    }

    // MARK: Metadata values

    @Test("an array longer than the bytes left")
    func arrayPastEnd() {
        var g = GGUFBytes.minimal()
        g.kv("k", .arrayClaiming(elementType: GV.typeU32, count: 1000, payload: [1, 0, 0, 0, 2, 0, 0, 0]))
        if case .countTooLarge("array length of 'k'", 1000, _, _) = ggufError(g) {} else { Issue.record("u32 array") }

        var strings = GGUFBytes.minimal()
        strings.kv("k", .arrayClaiming(elementType: GV.typeString, count: 1 << 60, payload: []))
        if case .countTooLarge("array length of 'k'", 1 << 60, _, _) = ggufError(strings) {} else { Issue.record("strings") }

        // A string element whose length runs past the end.
        var element = LEBytes()
        element.u64(1); element.raw([0x61]); element.u64(1 << 40)
        var inner = GGUFBytes()
        inner.kv("k", .arrayClaiming(elementType: GV.typeString, count: 2, payload: element.bytes + Array(repeating: 0x62, count: 40)))
        #expect(isTruncated(ggufError(inner), "string in 'k'"))
    }

    @Test("arrays of arrays sized to exhaust memory")
    func arraysOfArrays() {
        // 2^40 arrays: refused from the count alone, before anything is allocated.
        var outer = GGUFBytes.minimal()
        outer.kv("k", .arrayClaiming(elementType: GV.typeArray, count: 1 << 40, payload: []))
        if case .countTooLarge("array length of 'k'", 1 << 40, _, _) = ggufError(outer) {} else { Issue.record("2^40 arrays") }

        // Two inner arrays, the second claiming 2^40 u64s.
        var payload = LEBytes()
        payload.u32(GV.typeU8); payload.u64(0)
        payload.u32(GV.typeU64); payload.u64(1 << 40)
        var inner = GGUFBytes.minimal()
        inner.kv("k", .arrayClaiming(elementType: GV.typeArray, count: 2, payload: payload.bytes))
        if case .countTooLarge("array length of 'k'", 1 << 40, _, _) = ggufError(inner) {} else { Issue.record("inner 2^40") }

        // As many empty arrays as fit: accepted, and bounded by the file's size.
        var empties = LEBytes()
        for _ in 0..<10_000 { empties.u32(GV.typeU8); empties.u64(0) }
        var many = GGUFBytes.minimal()
        many.kv("k", .arrayClaiming(elementType: GV.typeArray, count: 10_000, payload: empties.bytes))
        #expect(ggufError(many) == nil)
    }

    /// An array nested `levels` deep (the outermost counts as one), holding one u8.
    static func nested(_ levels: Int) -> GV {
        var value = GV.array(GV.typeU8, [.u8(1)])
        for _ in 1..<levels { value = .array(GV.typeArray, [value]) }
        return value
    }

    @Test("nesting: the limit passes, one more level and far more fail")
    func deepNesting() {
        var atLimit = GGUFBytes.minimal()
        atLimit.kv("k", Self.nested(GGUFLimits.maxArrayNesting))
        #expect(ggufError(atLimit) == nil)

        // (1,000, not 10,000: the test's own recursive value overflowed a test thread's stack under ASan.)
        for levels in [GGUFLimits.maxArrayNesting + 1, 1_000] {
            var g = GGUFBytes.minimal()
            g.kv("k", Self.nested(levels))
            if case .arrayNestingTooDeep("k", _, GGUFLimits.maxArrayNesting) = ggufError(g) {} else { Issue.record("\(levels) levels") }
        }

        // Headers only: 2^20 nested array headers each claiming one element.
        var headers = LEBytes()
        for _ in 0..<(1 << 16) { headers.u32(GV.typeArray); headers.u64(1) }
        var g = GGUFBytes.minimal()
        g.kv("k", .arrayClaiming(elementType: GV.typeArray, count: 1, payload: headers.bytes))
        if case .arrayNestingTooDeep("k", _, _) = ggufError(g) {} else { Issue.record("headers") }
    }

    @Test("unknown value types", arguments: [UInt32(13), 0xFFFF_FFFF])
    func unknownValueType(type: UInt32) {
        var value = GGUFBytes.minimal()
        value.kv("k", .raw(type: type, payload: [0, 0, 0, 0]))
        if case .unknownValueType("k", type, let offset) = ggufError(value) {
            #expect(offset == 24 + 8 + 20 + 4 + 8 + 5 + 8 + 1)  // after the first entry and "k"'s key
        } else { Issue.record("value type \(type)") }

        var element = GGUFBytes.minimal()
        element.kv("k", .arrayClaiming(elementType: type, count: 1, payload: [0, 0, 0, 0]))
        if case .unknownValueType("k", type, _) = ggufError(element) {} else { Issue.record("element type \(type)") }

        var inner = GGUFBytes.minimal()
        inner.kv("k", .array(GV.typeArray, [.arrayClaiming(elementType: type, count: 0, payload: [])]))
        if case .unknownValueType("k", type, _) = ggufError(inner) {} else { Issue.record("inner element type \(type)") }
    }

    @Test("bool values other than 0 and 1")
    func invalidBools() {
        var scalar = GGUFBytes.minimal()
        scalar.kv("b", .bool(2))
        if case .invalidBool("b", 2, _) = ggufError(scalar) {} else { Issue.record("scalar") }

        var array = GGUFBytes.minimal()
        array.kv("b", .array(GV.typeBool, [.bool(1), .bool(0), .bool(2)]))
        let (bytes, layout) = array.build()
        if case .invalidBool("b", 2, let offset) = ggufError(bytes) {
            #expect(offset == layout.keyOffsets[1] + 8 + 1 + 4 + 4 + 8 + 2)
        } else { Issue.record("array") }

        var fine = GGUFBytes.minimal()
        fine.kv("b", .array(GV.typeBool, [.bool(1), .bool(0)]))
        #expect(ggufError(fine) == nil)
    }

    @Test("invalid UTF-8 in a key or a tensor name")
    func invalidUTF8Names() {
        var key = GGUFBytes.minimal()
        key.metadata.append(([0x61, 0xC3, 0x28], .u8(1)))
        let (bytes, layout) = key.build()
        #expect(ggufError(bytes) == .invalidUTF8(field: "metadata key", offset: layout.keyOffsets[1]))

        var name = GGUFBytes.minimal()
        name.tensors[0].name = [0x74, 0xFF]
        let built = name.build()
        #expect(ggufError(built.bytes) == .invalidUTF8(field: "tensor name", offset: built.layout.tensorInfoOffsets[0]))

        // Overlong encoding and an encoded surrogate are invalid too.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            var g = GGUFBytes.minimal()
            g.metadata.append((bad, .u8(1)))
            if case .invalidUTF8("metadata key", _) = ggufError(g) {} else { Issue.record("\(bad)") }
        }
    }

    @Test("invalid UTF-8 in string values is accepted and reported")
    func invalidUTF8Values() throws {
        var g = GGUFBytes.minimal()
        g.kv("s", .string([0x61, 0xFF]))
        g.kv("list", .array(GV.typeString, [.str("ok"), .string([0xC3]), .string([0xE2, 0x82])]))
        g.kv("nested", .array(GV.typeArray, [.array(GV.typeString, [.string([0x80])])]))
        let file = try HostileDirectory.with { try GGUFFile(path: $0.write("values.gguf", g.bytes)) }
        let bad = file.invalidUTF8Strings()
        #expect(bad.map(\.key) == ["s", "list", "nested"])
        #expect(bad.map(\.count) == [1, 2, 1])
        #expect(file.metadata.string("s") == "a\u{FFFD}")
    }

    @Test("empty and duplicate keys")
    func keys() {
        var empty = GGUFBytes.minimal()
        empty.kv("", .u8(1))
        let (bytes, layout) = empty.build()
        #expect(ggufError(bytes) == .emptyKey(offset: layout.keyOffsets[1]))

        var duplicate = GGUFBytes.minimal()
        duplicate.kv("general.architecture", .str("gpt2"))
        let built = duplicate.build()
        #expect(ggufError(built.bytes) == .duplicateKey(key: "general.architecture", offset: built.layout.keyOffsets[1]))
    }

    // MARK: Tensor infos

    @Test("duplicate tensor names")
    func duplicateTensors() {
        var g = GGUFBytes.minimal()
        g.tensor("t", [8])
        #expect(ggufError(g) == .duplicateTensor(name: "t"))
    }

    @Test("tensor names of 63 bytes pass, 64 fail")
    func nameLength() {
        var ok = GGUFBytes.minimal()
        ok.tensors[0].name = Array(repeating: 0x61, count: 63)
        #expect(ggufError(ok) == nil)

        var long = GGUFBytes.minimal()
        long.tensors[0].name = Array(repeating: 0x61, count: 64)
        if case .tensorNameTooLong(_, 64, 63) = ggufError(long) {} else { Issue.record("64 bytes") }

        // 63 bytes, but multi-byte characters: the limit counts bytes.
        var multibyte = GGUFBytes.minimal()
        multibyte.tensors[0].name = Array(String(repeating: "é", count: 32).utf8)
        if case .tensorNameTooLong(_, 64, 63) = ggufError(multibyte) {} else { Issue.record("64 bytes of é") }
    }

    @Test("more than four dimensions")
    func tooManyDimensions() {
        var five = GGUFBytes.minimal()
        five.tensors[0].dimensions = [1, 1, 1, 1, 4]
        #expect(ggufError(five) == .tooManyDimensions(tensor: "t", count: 5, limit: 4))

        var lying = GGUFBytes.minimal()
        lying.tensors[0].dimensionCount = .max
        #expect(ggufError(lying) == .tooManyDimensions(tensor: "t", count: UInt64(UInt32.max), limit: 4))

        var four = GGUFBytes.minimal()
        four.tensors[0].dimensions = [1, 2, 1, 2]
        #expect(ggufError(four) == nil)
    }

    @Test("negative dimensions")
    func negativeDimensions() {
        var g = GGUFBytes.minimal()
        g.tensors[0].dimensions = [4, 1 << 63]
        #expect(ggufError(g) == .invalidDimension(tensor: "t", index: 1, value: "-9223372036854775808"))
        g.tensors[0].dimensions = [.max]
        #expect(ggufError(g) == .invalidDimension(tensor: "t", index: 0, value: "-1"))
    }

    @Test("dimension products that overflow")
    func shapeOverflow() {
        for dimensions: [UInt64] in [[1 << 32, 1 << 32], [1 << 62, 2, 2], [3, 3_074_457_345_618_258_603], [UInt64(Int64.max), 2]] {
            var g = GGUFBytes.minimal()
            g.tensors[0].dimensions = dimensions
            #expect(ggufError(g) == .shapeOverflow(tensor: "t"), "\(dimensions)")
        }
    }

    @Test("byte sizes that overflow or wrap when padded")
    func byteSizeOverflow() {
        // 2^61 F32 elements: 2^63 bytes do not fit in Int.
        var bytes = GGUFBytes.minimal()
        bytes.tensors[0].dimensions = [1 << 61]
        #expect(ggufError(bytes) == .shapeOverflow(tensor: "t"))
        // 2^61 - 1 F32 elements: Int.max - 3 bytes fit, but not once padded to 32.
        bytes.tensors[0].dimensions = [(1 << 61) - 1]
        #expect(ggufError(bytes) == .shapeOverflow(tensor: "t"))
        // A byte count that fits, but not once padded to a large alignment.
        var aligned = GGUFBytes.minimal()
        aligned.kv("general.alignment", .u32(1 << 30))
        aligned.tensors[0].type = GGMLType.i8.rawValue
        aligned.tensors[0].dimensions = [UInt64(Int.max) - (1 << 29)]
        #expect(ggufError(aligned) == .shapeOverflow(tensor: "t"))
        // A quantised type: blocks times block bytes overflow.
        var quantized = GGUFBytes.minimal()
        quantized.tensors[0].type = GGMLType.q8_0.rawValue
        quantized.tensors[0].dimensions = [UInt64(Int.max) - 31]  // (2^58 - 1) blocks of 34 bytes
        #expect(ggufError(quantized) == .shapeOverflow(tensor: "t"))
    }

    @Test("row length not a multiple of the block size")
    func rowNotMultipleOfBlock() {
        var g = GGUFBytes.minimal()
        g.tensors[0].type = GGMLType.q4_0.rawValue
        g.tensors[0].dimensions = [33, 2]
        #expect(ggufError(g) == .rowNotMultipleOfBlock(tensor: "t", rowLength: 33, blockSize: 32, type: "Q4_0"))
        g.tensors[0].type = GGMLType.q4_K.rawValue
        g.tensors[0].dimensions = [32]
        #expect(ggufError(g) == .rowNotMultipleOfBlock(tensor: "t", rowLength: 32, blockSize: 256, type: "Q4_K"))
        // A scalar (no dimensions) of a block type.
        g.tensors[0].type = GGMLType.q8_0.rawValue
        g.tensors[0].dimensions = []
        if case .rowNotMultipleOfBlock("t", 1, 32, _) = ggufError(g) {} else { Issue.record("scalar Q8_0") }
    }

    @Test("removed ggml type ids", arguments: [UInt32(4), 5, 31, 32, 33, 36, 37, 38])
    func removedTypes(id: UInt32) {
        var g = GGUFBytes.minimal()
        g.tensors[0].type = id
        g.tensors[0].dataBytes = 64
        if case .removedTensorType("t", id, let name) = ggufError(g) {
            #expect(name == GGMLType.removedIDs[id])
        } else { Issue.record("type \(id)") }
    }

    @Test("unknown ggml type ids", arguments: [UInt32(43), 1000, 0xFFFF_FFFF])
    func unknownTypes(id: UInt32) {
        var g = GGUFBytes.minimal()
        g.tensors[0].type = id
        g.tensors[0].dataBytes = 64
        #expect(ggufError(g) == .unknownTensorType(tensor: "t", id: id))
    }

    // MARK: Alignment

    @Test("general.alignment 0 or not a power of two", arguments: [UInt32(0), 3, 48, 0xFFFF_FFFF])
    func badAlignment(value: UInt32) {
        var g = GGUFBytes.minimal()
        g.kv("general.alignment", .u32(value))
        #expect(ggufError(g) == .invalidAlignment(value: UInt64(value)))
    }

    @Test("general.alignment of the wrong type")
    func alignmentType() {
        let cases: [(GV, String)] = [
            (.u64(32), "UINT64"), (.str("32"), "STRING"), (.i32(32), "INT32"), (.array(GV.typeU32, [.u32(32)]), "ARRAY[UINT32]"),
        ]
        for (value, name) in cases {
            var g = GGUFBytes.minimal()
            g.kv("general.alignment", value)
            #expect(ggufError(g) == .wrongValueType(key: "general.alignment", expected: "UINT32", found: name))
        }
    }

    @Test("general.alignment so large the data would start past the end")
    func hugeAlignment() {
        var g = GGUFBytes.minimal()
        g.kv("general.alignment", .u32(1 << 31))
        let bytes = g.bytes
        #expect(ggufError(bytes) == .dataSectionPastEnd(dataOffset: 1 << 31, fileSize: bytes.count))

        // A valid non-default alignment is honoured.
        var ok = GGUFBytes.minimal()
        ok.kv("general.alignment", .u32(64))
        ok.alignment = 64
        ok.tensor("u", [3])
        #expect(ggufError(ok) == nil)
    }

    // MARK: Tensor placement

    @Test("unaligned tensor offsets")
    func unalignedOffset() {
        var g = GGUFBytes.minimal()
        g.tensors[0].offset = 4
        #expect(ggufError(g) == .tensorOffsetUnaligned(tensor: "t", offset: 4, alignment: 32))
        g.tensors[0].offset = .max
        #expect(ggufError(g) == .tensorOffsetUnaligned(tensor: "t", offset: .max, alignment: 32))
    }

    @Test("overlapping tensors")
    func overlap() {
        var g = GGUFBytes.minimal()
        g.tensor("u", [16])
        g.tensors[1].offset = 0
        if case .tensorsOverlap(_, _, let offset) = ggufError(g.build().bytes) {
            #expect(offset == g.build().layout.dataOffset)
        } else { Issue.record("same offset") }

        // 64 bytes at 0 and 16 bytes at 32.
        var inside = GGUFBytes()
        inside.tensor("big", [16])
        inside.tensor("small", [4])
        inside.tensors[1].offset = 32
        if case .tensorsOverlap("big", "small", _) = ggufError(inside) {} else { Issue.record("inside") }
    }

    @Test("an overlap is found past an empty tensor (regression)")
    func overlapPastEmptyTensor() {
        // "a" is 256 bytes at 0, "e" is empty at 64, "b" is 16 bytes at 128: "b" lies inside "a".
        var g = GGUFBytes()
        g.tensor("a", [64])
        g.tensor("e", [0])
        g.tensor("b", [4])
        g.tensors[1].offset = 64
        g.tensors[2].offset = 128
        if case .tensorsOverlap("a", "b", _) = ggufError(g) {} else { Issue.record("hidden overlap") }

        // Empty tensors anywhere inside others are fine.
        var empty = GGUFBytes()
        empty.tensor("a", [64])
        empty.tensor("e", [0, 5])
        empty.tensors[1].offset = 64
        #expect(ggufError(empty) == nil)
    }

    @Test("tensor offsets outside the file")
    func offsetOutOfFile() {
        for offset: UInt64 in [1 << 40, 1 << 62, 1 << 63, 0xFFFF_FFFF_FFFF_FFE0] {
            var g = GGUFBytes.minimal()
            g.tensors[0].offset = offset
            if case .tensorOutOfBounds("t", _, 16, _) = ggufError(g) {} else { Issue.record("offset \(offset)") }
        }
    }

    @Test("tensor data running past the end")
    func dataPastEnd() {
        var g = GGUFBytes.minimal()
        g.dropLast = 1
        let (bytes, layout) = g.build()
        #expect(ggufError(bytes) == .tensorOutOfBounds(tensor: "t", offset: layout.dataOffset, size: 16, fileSize: bytes.count))

        // A shape claiming far more data than there is.
        var big = GGUFBytes.minimal()
        big.tensors[0].dimensions = [1 << 20, 1 << 20]
        big.tensors[0].dataBytes = 16
        if case .tensorOutOfBounds("t", _, 1 << 42, _) = ggufError(big) {} else { Issue.record("big shape") }
    }

    @Test("through Checkpoint.open, errors keep their case")
    func throughCheckpoint() {
        var g = GGUFBytes.minimal()
        g.version = 1
        let error = hostileError(g.bytes, name: "model.gguf") { try Checkpoint.open($0) }
        #expect(error == .unsupportedVersion(1))
    }
}
