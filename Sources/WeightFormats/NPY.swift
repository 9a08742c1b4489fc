/// NumPy's `.npy` format, version 1.0 (and 2.0 when reading).
///
///     magic        "\x93NUMPY"
///     version      1 byte major, 1 byte minor
///     header len   u16 little-endian (u32 in version 2.0)
///     header       a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
///                  padded with spaces and ended by '\n' so the data starts at a multiple of 64
///     data         C-order elements
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// An array read from a `.npy` file, converted to Float.
    public struct Array32: Sendable {
        public let shape: [Int]
        public let values: [Float]
        /// The stored element type as NumPy spells it (`<f4`, `<i8`, `|u1`...).
        public var storedType: String = "<f4"
    }

    /// The header bytes for a little-endian float32 array of `shape`.
    public static func float32Header(shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = magic.count + 2 + 2 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Swift.Array(dict.utf8)
    }

    /// Writes a float32 array atomically (an `OutputFile`).
    ///
    /// - Parameters:
    ///   - overwrite: replace an existing file; otherwise one is an error.
    ///   - inputs: files the caller read, which `path` may never be.
    public static func write(
        _ values: UnsafeBufferPointer<Float>, shape: [Int], to path: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()
    ) throws {
        precondition(shape.reduce(1, *) == values.count, "shape does not match the value count")
        let output = try OutputFile(destination: path, overwrite: overwrite, inputs: inputs)
        try output.write(float32Header(shape: shape))
        try output.write(UnsafeRawBufferPointer(values))
        try output.commit()
    }

    public static func write(
        _ values: [Float], shape: [Int], to path: String, overwrite: Bool = false, inputs: InputFiles = InputFiles()
    ) throws {
        try values.withUnsafeBufferPointer { try write($0, shape: shape, to: path, overwrite: overwrite, inputs: inputs) }
    }

    /// What a `.npy` header declares, read without converting the data.
    public struct Header: Sendable, Equatable {
        public let shape: [Int]
        public let storedType: String
    }

    /// Reads and validates a `.npy` file's header (shape, type, data length).
    public static func readHeader(_ path: String) throws -> Header {
        let file = try MappedFile(path: path)
        let parsed = try parse(file, path: path)
        return Header(shape: parsed.shape, storedType: parsed.descr)
    }

    /// Reads a `.npy` file of floats, integers or booleans as Float.
    public static func read(_ path: String) throws -> Array32 {
        let file = try MappedFile(path: path)
        let parsed = try parse(file, path: path)
        let values = withExtendedLifetime(file) { (0..<parsed.count).map { parsed.convert(parsed.base + $0 * parsed.size) } }
        return Array32(shape: parsed.shape, values: values, storedType: parsed.descr)
    }

    private struct Parsed {
        let shape: [Int]
        let descr: String
        let count: Int
        let size: Int
        let convert: (UnsafeRawPointer) -> Float
        let base: UnsafeRawPointer
    }

    private static func parse(_ file: MappedFile, path: String) throws -> Parsed {
        let bytes = file.bytes
        func invalid(_ reason: String) -> FormatError { .inFile(path, .unrecognizedFormat(path: path, reason: "not a .npy file: " + reason)) }
        guard bytes.count >= 10, Swift.Array(bytes[0..<6]) == magic else { throw invalid("bad magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw invalid("truncated") }
            headerLength = Int(bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
            headerStart = 12
        }
        guard headerStart + headerLength <= bytes.count else { throw invalid("header past the end") }
        let header = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[headerStart..<(headerStart + headerLength)]), as: UTF8.self)
        guard let descr = field("descr", in: header).map({ $0.trimmingQuotes }),
              let shapeText = field("shape", in: header)
        else { throw invalid("header lacks descr or shape") }
        guard field("fortran_order", in: header)?.hasPrefix("False") == true else { throw invalid("Fortran order is not supported") }
        let shapeBody = shapeText.drop(while: { $0 == "(" }).prefix(while: { $0 != ")" })
        var shape: [Int] = []
        for piece in shapeBody.split(separator: ",") {
            let digits = piece.filter { $0 != " " }
            guard !digits.isEmpty else { continue }
            guard let dimension = Int(digits), dimension >= 0 else { throw invalid("shape entry '\(digits)' is not a count") }
            shape.append(dimension)
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw invalid("shape \(shape) overflows the element count") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])
        let (size, convert): (Int, (UnsafeRawPointer) -> Float)
        switch descr {
        case "<f4": (size, convert) = (4, { $0.loadUnaligned(as: Float.self) })
        case "<f8": (size, convert) = (8, { Float($0.loadUnaligned(as: Double.self)) })
        case "<f2": (size, convert) = (2, { Float($0.loadUnaligned(as: Float16.self)) })
        case "<i4": (size, convert) = (4, { Float($0.loadUnaligned(as: Int32.self)) })
        case "<i8": (size, convert) = (8, { Float($0.loadUnaligned(as: Int64.self)) })
        case "|u1", "|b1": (size, convert) = (1, { Float($0.load(as: UInt8.self)) })
        case "|i1": (size, convert) = (1, { Float($0.load(as: Int8.self)) })
        default: throw invalid("dtype \(descr) is not supported")
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, data.count >= needed else { throw invalid("data shorter than the shape \(shape)") }
        let base = data.baseAddress ?? bytes.baseAddress!
        return Parsed(shape: shape, descr: descr, count: count, size: size, convert: convert, base: base)
    }

    private static func field(_ name: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(name)':") else { return nil }
        return String(header[range.upperBound...]).trimmingLeadingSpaces
    }
}

extension String {
    fileprivate var trimmingLeadingSpaces: String { String(drop(while: { $0 == " " })) }
    fileprivate var trimmingQuotes: String {
        let afterQuote = drop(while: { $0 == "'" || $0 == "\"" })
        return String(afterQuote.prefix(while: { $0 != "'" && $0 != "\"" }))
    }
}

extension StringProtocol {
    /// `range(of:)` without Foundation.
    func range(of needle: String) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) {
                return index..<self.index(index, offsetBy: needle.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
