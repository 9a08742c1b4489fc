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
/// A loop is split into more chunks than threads; the caller and the workers claim chunks from
/// one atomic ticket until none is left, so a thread the system delays leaves its share to the
/// others. The ticket names its loop (see `Ticket`), so a worker still finishing an older loop
/// cannot claim a chunk of the next one.
final class WorkerTeam: @unchecked Sendable {
    /// Threads that run chunks besides the caller.
    let workerCount: Int
    /// How long an idle worker spins before it sleeps.
    static let spinSeconds = 0.0002

    /// Chunks per thread of a loop: enough to even out threads the system delays.
    static let chunksPerThread = 8

    private let ticket = Atomic<UInt64>(0)
    private let completed = Atomic<Int>(0)
    /// Serialises callers: one loop at a time.
    private let callers = Mutex<Void>(())
    private let sleepLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeUp = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var sleepers = 0

    // The current loop, written before its ticket is published and read after it is seen.
    private var body: ((Range<Int>) -> Void)?
    private var count = 0, chunkSize = 1

    private init(workers: Int) {
        workerCount = workers
        pthread_mutex_init(sleepLock, nil)
        pthread_cond_init(wakeUp, nil)
        for _ in 0..<workers { startWorker() }
    }

    private static let teams = Mutex<[Int: WorkerTeam]>([:])

    /// The team for `threads` threads in all (the caller and `threads - 1` workers), created on
    /// first use and kept for the life of the process.
    static func shared(threads: Int) -> WorkerTeam {
        teams.withLock { teams in
            if let team = teams[threads] { return team }
            let team = WorkerTeam(workers: threads - 1)
            teams[threads] = team
            return team
        }
    }

    /// Runs `body` over chunks of `0..<count` (each at least `minimumChunk` long) on the caller
    /// and the workers, and returns when every chunk has run.
    func forChunks(of count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        let chunkCount = max(1, min(count / max(1, minimumChunk), Self.chunksPerThread * (workerCount + 1)))
        if chunkCount == 1 || workerCount == 0 {
            if count > 0 { body(0..<count) }
            return
        }
        callers.withLock { _ in
            withoutActuallyEscaping(body) { body in
                self.body = body
                self.count = count
                self.chunkSize = (count + chunkCount - 1) / chunkCount
                completed.store(0, ordering: .relaxed)
                let loop = (Ticket(ticket.load(ordering: .relaxed)).loop + 1) & 0xffff_ffff
                ticket.store(Ticket(loop: loop, chunkCount: chunkCount).value, ordering: .sequentiallyConsistent)
                wakeSleepers()
                runChunks(of: loop)
                var spins = 0
                while completed.load(ordering: .acquiring) < chunkCount { Self.spinWait(&spins) }
                self.body = nil
            }
        }
    }

    /// Claims and runs chunks of loop `loop` until none is left. The loop's closure and sizes
    /// are read only with a chunk claimed: until that chunk completes, the caller is still in
    /// this loop and they stay as they are.
    private func runChunks(of loop: UInt64) {
        var current = ticket.load(ordering: .acquiring)
        while let chunk = Ticket(current).claimable(in: loop) {
            let (exchanged, original) = ticket.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if !exchanged { current = original; continue }
            let start = chunk * chunkSize
            if start < count { body!(start..<min(count, start + chunkSize)) }
            completed.add(1, ordering: .releasing)
            current = ticket.load(ordering: .acquiring)
        }
    }

    private func wakeSleepers() {
        pthread_mutex_lock(sleepLock)
        if sleepers > 0 { pthread_cond_broadcast(wakeUp) }
        pthread_mutex_unlock(sleepLock)
    }

    /// A worker: wait for a new loop (spinning, then sleeping), run its chunks, repeat.
    private func work() {
        var seen: UInt64 = 0
        while true {
            seen = waitForLoop(after: seen)
            runChunks(of: seen)
        }
    }

    /// Returns the number of the first loop after `seen`.
    private func waitForLoop(after seen: UInt64) -> UInt64 {
        let deadline = monotonicSeconds() + Self.spinSeconds
        var spins = 0
        while true {
            let loop = Ticket(ticket.load(ordering: .acquiring)).loop
            if loop != seen { return loop }
            if spins % 256 == 255, monotonicSeconds() > deadline { break }
            Self.spinWait(&spins)
        }
        pthread_mutex_lock(sleepLock)
        sleepers += 1
        while Ticket(ticket.load(ordering: .sequentiallyConsistent)).loop == seen { pthread_cond_wait(wakeUp, sleepLock) }
        sleepers -= 1
        pthread_mutex_unlock(sleepLock)
        return Ticket(ticket.load(ordering: .acquiring)).loop
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

    private func startWorker() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<WorkerTeam>.fromOpaque(context!).takeRetainedValue().work()
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

/// The team's shared counter, one 64-bit word: the loop's number (bits 32-63), its chunk count
/// (16-31) and the next unclaimed chunk (0-15). Claiming a chunk adds 1.
struct Ticket {
    let value: UInt64

    init(_ value: UInt64) { self.value = value }

    init(loop: UInt64, chunkCount: Int) {
        precondition(chunkCount <= 0xffff, "too many chunks for the ticket")
        value = loop << 32 | UInt64(chunkCount) << 16
    }

    var loop: UInt64 { value >> 32 }
    var chunkCount: Int { Int((value >> 16) & 0xffff) }
    var next: Int { Int(value & 0xffff) }

    /// The next chunk, if this ticket belongs to `loop` and has one left.
    func claimable(in loop: UInt64) -> Int? {
        self.loop == loop && next < chunkCount ? next : nil
    }
}
