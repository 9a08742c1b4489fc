import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import WeightCompute

/// The decode thread team: every index of every loop runs exactly once, loop after loop, with
/// callers on several threads at once.
@Suite struct WorkerTeamTests {
    /// Runs one loop over `count` indices and returns how often each index ran.
    static func visits(_ team: WorkerTeam, count: Int, minimumChunk: Int) -> [Int] {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
        counts.initialize(repeating: 0, count: max(1, count))
        defer { counts.deallocate() }
        team.forChunks(of: count, minimumChunk: minimumChunk) { chunk in
            for index in chunk { counts[index] += 1 }
        }
        return Array(UnsafeBufferPointer(start: counts, count: count))
    }

    @Test("each index once, for counts around the chunking", arguments: [1, 2, 3])
    func coversEveryIndexOnce(threads: Int) {
        let team = WorkerTeam(workers: threads - 1)
        for count in [0, 1, 15, 16, 17, 64, 100, 257, 1000, 151_936] {
            for minimumChunk in [1, 16] {
                #expect(Self.visits(team, count: count, minimumChunk: minimumChunk) == Array(repeating: 1, count: count),
                        "\(threads) threads, \(count) indices, chunks of at least \(minimumChunk)")
            }
        }
    }

    @Test("thousands of short loops in a row, from several callers at once")
    func manyLoopsConcurrently() async {
        let team = WorkerTeam(workers: 1)
        let failures = await withTaskGroup(of: Int.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    (0..<2000).filter { loop in
                        let count = 16 + (loop * 7 + caller) % 300
                        return Self.visits(team, count: count, minimumChunk: 4) != Array(repeating: 1, count: count)
                    }.count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    @Test("a delayed thread's chunks go to the others, each thread running its own share front to back")
    func delayedShareIsTaken() {
        let team = WorkerTeam(workers: 1)
        let count = 64
        // Which thread ran each index, and in which order the chunks started.
        let runner = UnsafeMutablePointer<pthread_t>.allocate(capacity: count)
        let starts = Mutex<[(thread: pthread_t, start: Int)]>([])
        defer { runner.deallocate() }
        let caller = pthread_self()
        team.forChunks(of: count, minimumChunk: 1) { chunk in
            starts.withLock { $0.append((pthread_self(), chunk.lowerBound)) }
            for index in chunk { runner[index] = pthread_self() }
            if chunk.contains(0) { usleep(200_000) }  // the caller's first chunk: time for the worker to finish its share and take the caller's
        }
        let byCaller = (0..<count).filter { pthread_equal(runner[$0], caller) != 0 }
        #expect(byCaller.first == 0 && byCaller.count < count / 2, "the caller, held up on its first chunk, ran \(byCaller)")
        // The worker's own share (the second half) in ascending order, then the caller's from the back.
        let worker = starts.withLock { $0.filter { pthread_equal($0.thread, caller) == 0 }.map(\.start) }
        let own = worker.filter { $0 >= count / 2 }, taken = worker.filter { $0 < count / 2 }
        #expect(own == own.sorted() && taken == taken.sorted(by: >) && worker == own + taken, "worker's chunks: \(worker)")
    }
}
