#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import WeightFormats

/// The block kernels of LegacyQuantDecoding and KQuantDecoding, held to more than
/// DequantizeTests' 1-ulp bound: bit-identical output, any source alignment, and no access
/// outside the blocks asked for.
@Suite struct KQuantDecodingTests {
    static let types = [
        "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL", "MXFP4", "NVFP4", "Q1_0", "Q2_0",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_XS", "TQ1_0", "TQ2_0",
    ]

    static func tensor(_ name: String) throws -> TensorView {
        try Checkpoint.open(Fixture.path("core/ggml_types.gguf")).requireTensor("t.\(name)")
    }

    @Test("bit-identical to the reference", arguments: types)
    func bitIdentical(type name: String) throws {
        let decoded = try Self.tensor(name).floats()
        let expected = try NPY.read(Fixture.path("core/ggml_types/\(name).npy")).values
        #expect(decoded.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("any source alignment; no reads past the last block, no writes past count", arguments: types)
    func alignmentAndBounds(type name: String) throws {
        let tensor = try Self.tensor(name)
        let type = try #require(GGMLType(name: name))
        let kernel = try #require(DecodeKernels.ggml[type])
        let expected = try tensor.floats().map(\.bitPattern)
        let source = tensor.bytes
        let sentinel: UInt32 = 0x7FC0_1234

        for shift in 0..<4 {
            // The blocks end `shift` bytes before an inaccessible page: a read past them faults.
            try withGuardedBuffer(byteCount: source.count + shift) { start in
                start.copyMemory(from: source.baseAddress!, byteCount: source.count)
                var output = [Float](repeating: Float(bitPattern: sentinel), count: expected.count + 64)
                output.withUnsafeMutableBufferPointer { kernel(UnsafeRawPointer(start), $0.baseAddress!, expected.count) }
                #expect(output.prefix(expected.count).map(\.bitPattern) == expected, "\(name), shift \(shift)")
                #expect(output.dropFirst(expected.count).allSatisfy { $0.bitPattern == sentinel })
            }
        }
    }

    @Test("one block at a time equals the whole tensor", arguments: types)
    func blockByBlock(type name: String) throws {
        let tensor = try Self.tensor(name)
        let type = try #require(GGMLType(name: name))
        let kernel = try #require(DecodeKernels.ggml[type])
        let expected = try tensor.floats().map(\.bitPattern)
        var output = [Float](repeating: 0, count: expected.count)
        let blocks = tensor.byteCount / type.bytesPerBlock
        output.withUnsafeMutableBufferPointer { output in
            for block in 0..<blocks {
                kernel(tensor.bytes.baseAddress! + block * type.bytesPerBlock,
                       output.baseAddress! + block * type.blockSize, type.blockSize)
            }
        }
        #expect(output.map(\.bitPattern) == expected)
    }
}

/// Runs `body` with the start of `byteCount` writable bytes that end exactly where an
/// inaccessible page begins.
private func withGuardedBuffer(byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> Void) throws {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let dataPages = (byteCount + page - 1) / page
    let total = (dataPages + 1) * page
    let mapping = try #require(mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
    try #require(mapping != MAP_FAILED)
    defer { munmap(mapping, total) }
    let guardPage = mapping + dataPages * page
    try #require(mprotect(guardPage, page, PROT_NONE) == 0)
    try body(guardPage - byteCount)
}
