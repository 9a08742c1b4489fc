import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Data-parallel loops over disjoint pieces of memory.
public enum Parallel {
    /// The number of online processors.
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Runs `body(i)` for every `i` in `0..<iterations`, on up to `iterations` threads, and
    /// returns when all have finished. Callers give each iteration its own memory to write.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        if iterations <= 0 { return }
        if iterations == 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: iterations) { work($0) }
        }
    }

    /// Splits `0..<count` into at most `workers` contiguous chunks of at least `minimumChunk`
    /// and runs `body` on each chunk in parallel.
    public static func forChunks(of count: Int, workers: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let available = workers > 0 ? workers : processorCount
        let chunks = max(1, min(available, count / max(1, minimumChunk)))
        let size = (count + chunks - 1) / chunks
        forEach(chunks) { chunk in
            let start = chunk * size
            let end = min(count, start + size)
            if start < end { body(start..<end) }
        }
    }
}
