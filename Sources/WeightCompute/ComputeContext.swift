import WeightFormats

/// What a model computes with: its worker threads, its scratch memory and (with the kernel
/// tiers) the instruction set its kernels use. Each model holds one; nothing is shared between
/// contexts, so two models on two threads run independently and give the same results as
/// each alone.
///
/// BLAS is called only single-threaded, on the context's own threads: OpenBLAS has one
/// process-wide thread count, which a context never changes (the `weightkit` tool sets it to 1
/// when it starts; a program that embeds WeightKit should do the same, or set
/// `OPENBLAS_NUM_THREADS=1`, so that OpenBLAS's own threads do not compete with the context's).
public final class ComputeContext: @unchecked Sendable {
    /// Threads a parallel loop runs on, the caller's included.
    public let threads: Int
    /// The instruction-set tier of the context's kernels.
    public let kernels: Kernels
    /// The caller and `threads - 1` workers.
    let team: WorkerTeam
    /// The caller alone, for loops too small to share.
    let serial: WorkerTeam
    let scratch = ScratchPool()
    /// Sees the input of every matrix product computed with this context (nil: none).
    public let observer: (any MatrixInputObserver)?

    /// - Parameters:
    ///   - threads: threads for parallel loops; 0 for one per processor.
    ///   - kernels: the instruction-set tier (`Kernels.best` by default).
    ///   - observer: called with each product's matrix and input before it is computed.
    public init(threads: Int = 0, kernels: Kernels = .best, observer: (any MatrixInputObserver)? = nil) {
        let count = threads > 0 ? threads : Parallel.processorCount
        self.threads = count
        self.kernels = kernels
        self.observer = observer
        team = WorkerTeam(workers: count - 1)
        serial = WorkerTeam(workers: 0)
    }

    deinit {
        team.stop()
    }

    /// The team for a loop: all threads, or the caller alone when `parallel` is false.
    func team(parallel: Bool) -> WorkerTeam {
        parallel && threads > 1 ? team : serial
    }

    /// Runs `body` over chunks of `0..<count` on the context's threads (see `WorkerTeam`).
    public func forChunks(of count: Int, minimumChunk: Int, multiple: Int = 1, _ body: (Range<Int>) -> Void) {
        team.forChunks(of: count, minimumChunk: minimumChunk, multiple: multiple, body)
    }
}

/// Sees the inputs of matrix products (llama-imatrix's collector is one): `observe` is called
/// on the thread that asked for the product, before it is computed, with the matrix (whose
/// `base` says which stored tensor it reads) and its `rows` input rows of `matrix.columns`
/// floats.
public protocol MatrixInputObserver: AnyObject, Sendable {
    func observe(_ matrix: WeightMatrix, input: UnsafePointer<Float>, rows: Int)
}

/// Float scratch buffers kept between products (a block of decoded rows, a head's attention
/// scores), so that the many prefill products do not map and fault in fresh memory each time.
final class ScratchPool: @unchecked Sendable {
    /// Kept buffers, as addresses and capacities.
    private let buffers = Mutex<[(address: UInt, capacity: Int)]>([])
    /// Buffers kept at most; more are freed when given back.
    static let limit = 8

    deinit {
        buffers.withLock { buffers in
            for buffer in buffers { UnsafeMutablePointer<Float>(bitPattern: buffer.address)?.deallocate() }
        }
    }

    /// A buffer of at least `capacity` floats (contents undefined).
    func take(_ capacity: Int) -> UnsafeMutablePointer<Float> {
        let reused = buffers.withLock { buffers -> UInt? in
            guard let index = buffers.firstIndex(where: { $0.capacity >= capacity }) else { return nil }
            return buffers.remove(at: index).address
        }
        return reused.flatMap { UnsafeMutablePointer<Float>(bitPattern: $0) } ?? .allocate(capacity: capacity)
    }

    /// Returns a buffer from `take` (with the capacity asked for).
    func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let kept = buffers.withLock { buffers -> Bool in
            guard buffers.count < Self.limit else { return false }
            buffers.append((UInt(bitPattern: pointer), capacity))
            return true
        }
        if !kept { pointer.deallocate() }
    }
}

import Synchronization
