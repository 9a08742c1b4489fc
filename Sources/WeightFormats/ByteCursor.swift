/// The byte order of a file's multi-byte fields.
public enum ByteOrder: Sendable, Equatable {
    case littleEndian, bigEndian
}

/// A bounds-checked read position in a byte buffer.
///
/// Every read checks that its bytes are present before loading them, and reports a shortfall
/// as `FormatError.truncated` naming the field and its offset. Nothing here traps on bad input.
struct ByteCursor {
    let base: UnsafeRawPointer
    /// One past the last readable byte (an offset from `base`).
    let end: Int
    var offset: Int
    var byteOrder: ByteOrder

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, byteOrder: ByteOrder = .littleEndian) {
        self.base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        self.end = bytes.count
        self.offset = offset
        self.byteOrder = byteOrder
    }

    var remaining: Int { end - offset }

    /// Checks that `count` bytes are left for `field`.
    @inline(__always)
    func require(_ count: Int, _ field: @autoclosure () -> String) throws {
        if count > end - offset || count < 0 {
            throw FormatError.truncated(field: field(), offset: offset, needed: count, available: end - offset)
        }
    }

    @inline(__always)
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, field())
        let raw = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return byteOrder == .littleEndian ? T(littleEndian: raw) : T(bigEndian: raw)
    }

    @inline(__always)
    mutating func readFloat(_ field: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, field()))
    }

    @inline(__always)
    mutating func readDouble(_ field: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, field()))
    }

    /// Skips `count` bytes that must be present.
    @inline(__always)
    mutating func skip(_ count: Int, _ field: @autoclosure () -> String) throws {
        try require(count, field())
        offset += count
    }

    /// The bytes at `offset ..< offset + count`, which must be present.
    func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offset, count: count)
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
    /// above U+10FFFF), checked without allocating; ASCII runs go eight bytes at a time.
    public var isValidUTF8: Bool {
        guard let base = baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        return UTF8Validation.isValid(base, count)
    }

    fileprivate func bindMemoryIfNeeded() -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: baseAddress?.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// Decodes UTF-8, replacing invalid sequences with U+FFFD.
    public var lossyString: String {
        String(decoding: bindMemoryIfNeeded(), as: UTF8.self)
    }

    /// Decodes strictly; nil when the bytes are not valid UTF-8.
    public var validatedString: String? {
        String(validating: bindMemoryIfNeeded(), as: UTF8.self)
    }
}

enum UTF8Validation {
    static func isValid(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if i + 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let lead = p[i]
            if lead < 0x80 { i += 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return false
            }
            guard i + length <= n else { return false }
            let second = p[i + 1]
            guard second >= low && second <= high else { return false }
            for k in 2..<length where p[i + k] & 0xC0 != 0x80 { return false }
            i += length
        }
        return true
    }
}
