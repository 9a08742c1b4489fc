import CKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Threads kept alive for the many short parallel loops of decoding (about 170 matrix-vector
/// products per token, each a few tens of microseconds): a woken thread costs about as much as
/// the work, so workers spin for a while after each loop (`spinSeconds`, yielding the processor
/// as they do) and only then sleep.
///
/// A loop is split into more chunks than threads, and each thread owns one contiguous share of
/// them, which it runs from the front: one sequential stream through the weights, however many
/// chunks it takes, so the hardware prefetcher never has to start again. A thread done with its
/// share takes chunks from the back of the others' (first the next thread's), so a thread the
/// system delays, or one that streams a little slower, leaves only its last chunks to the
/// others, and nobody waits long for the last one. Every share word names its loop (see
/// `Share`), so a worker still finishing an older loop cannot claim a chunk of the next one.
final class WorkerTeam: @unchecked Sendable {
    /// Threads that run chunks besides the caller.
    let workerCount: Int
    /// How long an idle worker spins before it sleeps.
    static let spinSeconds = 0.0002

    /// Chunks per thread of a loop: the unit a thread takes from another's share, small enough
    /// that the threads finish within a fraction of a chunk of each other.
    static let chunksPerThread = 16

    /// The number of the newest loop, which workers wait for.
    private let published = Atomic<UInt64>(0)
    /// One `Share` word per thread (the caller's first), each on its own cache line.
    private let shares: UnsafeMutablePointer<Atomic<UInt64>>
    private static let shareStride = 8
    private let completed = Atomic<Int>(0)
    /// Serialises callers: one loop at a time.
    private let callers = Mutex<Void>(())
    private let sleepLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0

    // The current loop, written before its shares are published and read by a thread only with
    // a chunk of it claimed.
    private var body: ((Range<Int>) -> Void)?
    private var count = 0, chunkSize = 1

    private var threadCount: Int { workerCount + 1 }

    /// Set when the team's context goes away: workers finish and exit.
    private let stopping = Atomic<Bool>(false)

    /// A team of the caller and `workers` threads, started now; `stop()` ends them.
    init(workers: Int) {
        workerCount = workers
        let raw = UnsafeMutableRawPointer.allocate(byteCount: (workers + 1) * Self.shareStride * 8, alignment: 64)
        shares = raw.bindMemory(to: Atomic<UInt64>.self, capacity: (workers + 1) * Self.shareStride)
        for thread in 0...workers { (shares + thread * Self.shareStride).initialize(to: Atomic(0)) }
        pthread_mutex_init(sleepLock, nil)
        pthread_cond_init(wakeUp, nil)
        if workers > 0 { for index in 1...workers { startWorker(index: index) } }
    }

    /// Ends the workers once they are idle (they keep the team alive until then).
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        published.add(1 << 32, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(sleepLock)
        pthread_cond_broadcast(wakeUp)
        pthread_mutex_unlock(sleepLock)
    }

    /// Runs `body` over chunks of `0..<count` (each at least `minimumChunk` long, and a multiple
    /// of `multiple` except the last) on the caller and the workers, and returns when every
    /// chunk has run.
    func forChunks(of count: Int, minimumChunk: Int, multiple: Int = 1, _ body: (Range<Int>) -> Void) {
        let wanted = max(1, min(count / max(1, minimumChunk), Self.chunksPerThread * threadCount))
        let size = ((count + wanted - 1) / wanted + multiple - 1) / multiple * multiple
        let chunkCount = max(1, (count + size - 1) / max(1, size))
        if chunkCount == 1 || workerCount == 0 {
            if count > 0 { body(0..<count) }
            return
        }
        precondition(chunkCount <= 0xffff, "too many chunks for a share word")
        callers.withLock { _ in
            withoutActuallyEscaping(body) { body in
                self.body = body
                self.count = count
                self.chunkSize = size
                completed.store(0, ordering: .relaxed)
                let loop = (published.load(ordering: .relaxed) + 1) & 0xffff_ffff
                for thread in 0..<threadCount {
                    let share = Share(loop: loop, front: chunkCount * thread / threadCount,
                                      back: chunkCount * (thread + 1) / threadCount)
                    shares[thread * Self.shareStride].store(share.value, ordering: .releasing)
                }
                published.store(loop, ordering: .sequentiallyConsistent)
                wakeSleepers()
                runChunks(of: loop, thread: 0)
                var spins = 0
                while completed.load(ordering: .acquiring) < chunkCount { Self.spinWait(&spins) }
                self.body = nil
            }
        }
    }

    /// Runs the chunks of loop `loop` that thread `thread` can claim: its own share from the
    /// front, then the others' from the back.
    private func runChunks(of loop: UInt64, thread: Int) {
        for offset in 0..<threadCount {
            let owner = (thread + offset) % threadCount
            while let chunk = claim(from: owner, in: loop, front: offset == 0) {
                let start = chunk * chunkSize
                if start < count { body!(start..<min(count, start + chunkSize)) }
                completed.add(1, ordering: .releasing)
            }
        }
    }

    /// Claims the front or back chunk of `owner`'s share of loop `loop`, if any is left. The
    /// loop's closure and sizes are read only after a successful claim: until that chunk
    /// completes, the caller is still in this loop and they stay as they are.
    private func claim(from owner: Int, in loop: UInt64, front: Bool) -> Int? {
        let word = shares + owner * Self.shareStride
        var current = word.pointee.load(ordering: .acquiring)
        while true {
            let share = Share(current)
            guard share.loop == loop, share.front < share.back else { return nil }
            let taken = front ? Share(loop: loop, front: share.front + 1, back: share.back)
                              : Share(loop: loop, front: share.front, back: share.back - 1)
            let (exchanged, original) = word.pointee.compareExchange(
                expected: current, desired: taken.value, ordering: .acquiringAndReleasing)
            if exchanged { return front ? share.front : share.back - 1 }
            current = original
        }
    }

    private func wakeSleepers() {
        pthread_mutex_lock(sleepLock)
        if sleepers > 0 { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(sleepLock)
    }

    /// Worker `index`: wait for a new loop (spinning, then sleeping), run its chunks, repeat.
    private func work(index: Int) {
        var seen: UInt64 = 0
        while true {
            seen = waitForLoop(after: seen)
            if stopping.load(ordering: .acquiring) { return }
            runChunks(of: seen, thread: index)
        }
    }

    /// Returns the number of the first loop after `seen`.
    private func waitForLoop(after seen: UInt64) -> UInt64 {
        let deadline = monotonicSeconds() + Self.spinSeconds
        var spins = 0
        while true {
            let loop = published.load(ordering: .acquiring)
            if loop != seen { return loop }
            if spins % 256 == 255, monotonicSeconds() > deadline { break }
            Self.spinWait(&spins)
        }
        pthread_mutex_lock(sleepLock)
        sleepers += 1
        while published.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wakeUp, sleepLock) }
        sleepers -= 1
        pthread_mutex_unlock(sleepLock)
        return published.load(ordering: .acquiring)
    }

    /// Spin iterations before a waiting thread starts yielding its processor.
    static let pausesBeforeYield = 128

    /// One step of a spin-wait: a `pause` at first, then `sched_yield`, which costs about as
    /// little on an idle processor but lets a delayed thread (often the one being waited for)
    /// run when the machine is busy.
    static func spinWait(_ spins: inout Int) {
        spins += 1
        if spins < pausesBeforeYield { wk_spin_pause() } else { sched_yield() }
    }

    private func startWorker(index: Int) {
        let context = Unmanaged.passRetained(WorkerStart(team: self, index: index)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let start = Unmanaged<WorkerStart>.fromOpaque(context!).takeRetainedValue()
            start.team.work(index: start.index)
            return nil
        }, context)
        precondition(status == 0, "could not start a worker thread (\(status))")
        pthread_detach(thread)
    }

    private func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}

/// What a new worker thread is given: its team and its index (1...workerCount).
private final class WorkerStart {
    let team: WorkerTeam
    let index: Int
    init(team: WorkerTeam, index: Int) { self.team = team; self.index = index }
}

/// One thread's share of a loop, one 64-bit word: the loop's number (bits 32-63) and the share's
/// unclaimed chunks, `front..<back` (bits 16-31 and 0-15). The owner claims the front chunk,
/// other threads the back one.
struct Share {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    init(loop: UInt64, front: Int, back: Int) {
        value = loop << 32 | UInt64(front) << 16 | UInt64(back)
    }

    var loop: UInt64 { value >> 32 }
    var front: Int { Int((value >> 16) & 0xffff) }
    var back: Int { Int(value & 0xffff) }
}
