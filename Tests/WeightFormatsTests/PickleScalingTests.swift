import Foundation
import Testing
@testable import WeightFormats

#if canImport(Glibc)
import Glibc
#endif

/// The pickle reader's cost grows linearly with the pickle: a state dict of N tensors in one
/// SETITEMS batch, and N nested lists.
@Suite struct PickleScalingTests {
    /// A state-dict pickle of `count` float tensors [2], all in one MARK ... SETITEMS batch.
    static func stateDict(count: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x80, 2, 0x7d, 0x28]  // PROTO 2, EMPTY_DICT, MARK
        func string(_ text: String) { bytes += [0x8c, UInt8(text.utf8.count)] + Array(text.utf8) }  // SHORT_BINUNICODE
        func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        for index in 0..<count {
            string("t.\(index)")
            global("torch._utils", "_rebuild_tensor_v2")
            bytes.append(0x28)  // MARK: the arguments
            bytes.append(0x28)  // MARK: the persistent id
            string("storage"); global("torch", "FloatStorage"); string("\(index)"); string("cpu")
            bytes += [0x4b, 2, 0x74, 0x51]  // BININT1 2, TUPLE, BINPERSID
            bytes += [0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x89]  // offset 0, (2,), (1,), False
            global("collections", "OrderedDict")
            bytes += [0x29, 0x52, 0x74, 0x52]  // (), REDUCE; TUPLE; REDUCE
        }
        bytes += [0x75, 0x2e]  // SETITEMS, STOP
        return bytes
    }

    /// CPU seconds of this thread spent in `body` (the least of two runs).
    static func cpuSeconds(_ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity
        for _ in 0..<2 {
            var start = timespec(), end = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
            try body()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
            best = min(best, Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) * 1e-9)
        }
        return best
    }

    static func load(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { raw in
            let machine = PickleMachine(bytes: raw, baseOffset: 0)
            let root = try machine.run()
            return try withExtendedLifetime(machine) { try PyTorchStateDict.find(in: root).entries.count }
        }
    }

    @Test("40,000 tensors in one batch load, in time linear in their number (10k vs 40k)")
    func manyTensorsInOneBatch() throws {
        let small = Self.stateDict(count: 10_000), large = Self.stateDict(count: 40_000)
        let loaded = try Self.load(large)
        #expect(loaded == 40_000)
        let smallTime = try Self.cpuSeconds { _ = try Self.load(small) }
        let largeTime = try Self.cpuSeconds { _ = try Self.load(large) }
        // Linear: about 4; the quadratic reader this replaces took 16 times as long.
        #expect(largeTime / smallTime < 8, "10k: \(smallTime) s, 40k: \(largeTime) s")
    }

    @Test("deeply nested lists cost memory linear in their depth")
    func deeplyNestedLists() throws {
        let depth = 20_000
        // EMPTY_LIST x depth, then APPEND x (depth - 1): each list inside the one before.
        let bytes: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5d, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2e]
        var before = rusage(), after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        #expect(throws: FormatError.self) { _ = try Self.load(bytes) }
        getrusage(RUSAGE_SELF.rawValue, &after)
        // A path kept per visited value cost 3 GB here; the reader keeps parent links.
        #expect(after.ru_maxrss - before.ru_maxrss < 512 * 1024, "peak RSS grew by \(after.ru_maxrss - before.ru_maxrss) KB")
        let time = Self.cpuSeconds { _ = try? Self.load(bytes) }
        #expect(time < 5, "\(time) s")
    }
}

/// PyTorch views kept as views (Fixtures/pytorch/expanded.pth, written by torch.save: one
/// stored float expanded to [100000, 100000]).
@Suite struct StridedViewTests {
    @Test("an expanded tensor is not copied when the file is opened, listed or scanned")
    func expandedStaysAView() throws {
        var before = rusage(), after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        let checkpoint = try Checkpoint.open(Fixture.path("pytorch/expanded.pth"))
        let zeros = try #require(checkpoint.tensor(named: "zeros"))
        #expect(zeros.shape == [100_000, 100_000] && zeros.strides == [0, 0] && zeros.isStridedView)
        #expect(zeros.byteCount == 40_000_000_000)
        #expect(throws: FormatError.viewExpandsStorage(
            tensor: "zeros", shape: [100_000, 100_000], strides: [0, 0], storageBytes: 4, bytes: 40_000_000_000,
            limit: 1 << 30)) { try zeros.checkMaterializable() }
        #expect(throws: FormatError.self) { try zeros.row(0) }
        #expect(throws: FormatError.self) { try zeros.forEachDecodedChunk { _ in } }
        // Its distinct elements: one, repeated 10^10 times.
        let (distinct, multiplicity) = try #require(zeros.withoutBroadcastDimensions())
        #expect(distinct.elementCount == 1 && multiplicity == 10_000_000_000)
        var values: [Float] = []
        try distinct.forEachDecodedChunk(allowingExpansion: true) { values += $0 }
        #expect(values == [0])
        getrusage(RUSAGE_SELF.rawValue, &after)
        #expect(after.ru_maxrss - before.ru_maxrss < 256 * 1024, "peak RSS grew by \(after.ru_maxrss - before.ru_maxrss) KB")
        #expect(try checkpoint.tensor(named: "small")?.floats() == [1, 1])
    }

    @Test("a transposed tensor's values, gathered in pieces or copied, are its row-major values")
    func transposedValues() throws {
        let checkpoint = try Checkpoint.open(Fixture.path("pytorch/state_dict.pth"))
        let expected = try Checkpoint.open(Fixture.path("pytorch/state_dict.expected.safetensors"))
        let strided = checkpoint.tensors.filter(\.isStridedView)
        #expect(!strided.isEmpty)
        for view in strided where view.dtype.ggmlType?.traits.kind == .float {
            let reference = try #require(expected.tensor(named: view.name)).floats()
            var pieces: [Float] = []
            try view.forEachDecodedChunk(maxElements: 3) { pieces += $0 }
            #expect(pieces == reference, "\(view.name)")
            #expect(try view.floats() == reference, "\(view.name)")
            var bytes: [UInt8] = []
            view.forEachRowMajorPiece(maxBytes: 5) { bytes += $0 }
            #expect(bytes == Array(try #require(expected.tensor(named: view.name)).bytes), "\(view.name)")
        }
    }
}
