import CKernels
import Testing
@testable import WeightFormats

/// The block validator (`utf8_valid`, in every instruction-set tier) and the vocabulary check
/// built on it, against Swift's own UTF-8 validation (`String(validating:as:)`).
@Suite struct UTF8ValidationTests {
    static func swiftAccepts(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

    static func blockValidatorAccepts(_ bytes: [UInt8], _ kernels: Kernels) -> Bool {
        bytes.withUnsafeBufferPointer { kernels.c.utf8_valid($0.baseAddress, $0.count) != 0 }
    }

    /// Sequences of one to four bytes at positions on both sides of the 32-byte block edges,
    /// in ASCII padding, cut at every length: every two-byte sequence, and three- and four-byte
    /// ones over the lead and boundary bytes that decide validity.
    @Test("agrees with Swift's validation on sequences across block edges", arguments: Kernels.allSupported)
    func sequences(kernels: Kernels) {
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF]
        var sequences: [[UInt8]] = []
        for a in 0...255 { for b in 0...255 { sequences.append([UInt8(a), UInt8(b)]) } }
        for a in interesting { for b in interesting { for c in interesting {
            sequences.append([a, b, c])
            for d in [UInt8(0x41), 0x80, 0xBF, 0xC2] { sequences.append([a, b, c, d]) }
        } } }
        var mismatches = 0
        for position in [0, 1, 29, 30, 31, 32, 33, 62, 63] {
            for sequence in sequences {
                var buffer = [UInt8](repeating: 0x61, count: 70)
                buffer.replaceSubrange(position..<(position + sequence.count), with: sequence)
                for length in [position + sequence.count, 70] {
                    let bytes = Array(buffer[..<length])
                    if Self.blockValidatorAccepts(bytes, kernels) != Self.swiftAccepts(bytes) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
        #expect(Self.blockValidatorAccepts([], kernels))
    }

    /// Random text of valid characters of every length (always accepted) and random byte soup
    /// (accepted exactly when Swift accepts it).
    @Test("agrees with Swift's validation on random text and random bytes", arguments: Kernels.allSupported)
    func random(kernels: Kernels) {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<20_000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0..<80, using: &generator) {
                let plane = Int.random(in: 0..<4, using: &generator)
                let ranges: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
                scalars.append(Unicode.Scalar(UInt32.random(in: ranges[plane], using: &generator))!)
            }
            #expect(Self.blockValidatorAccepts(Array(String(scalars).utf8), kernels))

            let soup = (0..<Int.random(in: 0..<100, using: &generator)).map { _ -> UInt8 in
                let kind = Int.random(in: 0..<8, using: &generator)
                return kind < 3 ? UInt8.random(in: 0x20...0x7E, using: &generator)
                    : kind < 5 ? UInt8.random(in: 0x80...0xBF, using: &generator) : UInt8.random(in: 0xC0...0xFF, using: &generator)
            }
            #expect(Self.blockValidatorAccepts(soup, kernels) == Self.swiftAccepts(soup), "\(soup)")
        }
    }

    /// A string array mixing short and long strings (lengths of 128 and more put bytes above 0x7F
    /// in their length fields: 195 is 0xC3, the lead of a two-byte sequence), valid and not,
    /// with the invalid ones in short runs, in long strings, and at a run's first and last
    /// string: the count equals the strings Swift rejects.
    @Test("invalid strings of a vocabulary are counted across runs and long strings", arguments: Kernels.allSupported)
    func vocabulary(kernels: Kernels) throws {
        var generator = SplitMix64(seed: 0xB0CA)
        let pieces: [[UInt8]] = [Array("Ġthe".utf8), Array("é".utf8), Array("日本".utf8), [0xF0, 0x9F, 0x98, 0x80],
                                 [0xC3], [0x80], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xFF], Array("ab".utf8)]
        for trial in 0..<30 {
            var strings: [[UInt8]] = []
            for _ in 0..<Int.random(in: 1..<300, using: &generator) {
                var s: [UInt8] = []
                let long = Int.random(in: 0..<10, using: &generator) == 0
                let target = long ? Int.random(in: 128..<300, using: &generator) : Int.random(in: 0..<12, using: &generator)
                while s.count < target {
                    let piece = pieces[Int.random(in: 0..<pieces.count, using: &generator)]
                    // Mostly valid pieces, so that runs of valid strings occur.
                    if Self.swiftAccepts(piece) || Int.random(in: 0..<20, using: &generator) == 0 { s += piece }
                }
                strings.append(s)
            }
            if trial == 0 { strings = [[0xC3], Array("x".utf8), [UInt8](repeating: 0x61, count: 195), [0xA9]] }
            var g = GGUFBytes.minimal()
            g.kv("tokens", .array(GV.typeString, strings.map { .string($0) }))
            let file = try HostileDirectory.with { try GGUFFile(path: $0.write("vocab.gguf", g.bytes)) }
            let expected = strings.filter { !Self.swiftAccepts($0) }.count
            let found = file.invalidUTF8Strings(kernels: kernels).first { $0.key == "tokens" }?.count ?? 0
            #expect(found == expected, "trial \(trial)")
        }
    }
}

/// A small seeded generator (SplitMix64), so that a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
