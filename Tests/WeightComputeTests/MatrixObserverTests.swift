import Synchronization
import Testing
import WeightCompute
import WeightFormats

/// `ComputeContext(observer:)`: every product reports its matrix and input once, before it is
/// computed, on each path (one row alone; one row through the shared loop of several matrices;
/// several rows).
@Suite struct MatrixObserverTests {
    final class Recorder: MatrixInputObserver, @unchecked Sendable {
        let seen = Mutex<[(base: UInt, rows: Int, first: Float)]>([])
        func observe(_ matrix: WeightMatrix, input: UnsafePointer<Float>, rows: Int) {
            seen.withLock { $0.append((UInt(bitPattern: matrix.base), rows, input[0])) }
        }
    }

    @Test(arguments: [GGMLType.f32, .f16, .q8_0, .q4_K])
    func everyProductIsSeenOnce(type: GGMLType) throws {
        let columns = 256, rows = 64
        let bytes = rows * columns / type.blockSize * type.bytesPerBlock
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 2 * bytes, alignment: 64)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 2 * bytes)
        let a = WeightMatrix(rows: rows, columns: columns, type: type, base: UnsafeRawPointer(storage), owner: nil)
        let b = WeightMatrix(rows: rows, columns: columns, type: type, base: UnsafeRawPointer(storage + bytes), owner: nil)
        let recorder = Recorder()
        let context = ComputeContext(threads: 2, observer: recorder)
        var x = [Float](repeating: 0.5, count: 3 * columns)
        x[0] = 7
        var y = [Float](repeating: 0, count: 3 * rows), z = [Float](repeating: 0, count: 3 * rows)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                z.withUnsafeMutableBufferPointer { z in
                    a.apply(x.baseAddress!, count: 1, into: y.baseAddress!, context: context)
                    WeightMatrix.apply([(a, y.baseAddress!), (b, z.baseAddress!)], to: x.baseAddress!, count: 1, context: context)
                    WeightMatrix.apply([(a, y.baseAddress!), (b, z.baseAddress!)], to: x.baseAddress!, count: 3, context: context)
                }
            }
        }
        let seen = recorder.seen.withLock { $0 }
        let first = UInt(bitPattern: storage), second = UInt(bitPattern: storage + bytes)
        #expect(seen.map(\.base) == [first, first, second, first, second])
        #expect(seen.map(\.rows) == [1, 1, 1, 3, 3])
        #expect(seen.allSatisfy { $0.first == 7 })
        // Without an observer nothing changes.
        #expect(ComputeContext(threads: 1).observer == nil)
    }
}
