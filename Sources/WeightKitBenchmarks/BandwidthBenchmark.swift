import CKernels
import WeightCompute
import WeightFormats

/// Read bandwidth of this machine: a plain sum over a buffer far larger than the caches (the
/// float dot product of the buffer with itself, so each byte is read once, in the tier's widest
/// vectors), split in contiguous shares over `threads` threads, best of `repeats` passes. The
/// decode benchmark divides it by the bytes a token reads for the decode speed limit.
func bandwidthBenchmark(megabytes: Int, threads: Int, repeats: Int = 10) {
    let count = megabytes << 18                               // floats
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { buffer.deallocate() }
    let context = ComputeContext(threads: threads, kernels: kernels)
    context.forChunks(of: count, minimumChunk: 1 << 16) { share in   // fault in on the threads that read
        (buffer + share.lowerBound).initialize(repeating: 1, count: share.count)
    }
    let k = kernels.c
    let seconds = best(repeats) {
        context.forChunks(of: count, minimumChunk: count / threads, multiple: 1 << 10) { share in
            let part = buffer + share.lowerBound
            _ = k.dot_f32(part, part, share.count)                   // a call through the table: never elided
        }
    }
    let bytes = Double(count * 4)
    print("{\"benchmark\":\"read_bandwidth\",\"threads\":\(threads),\"bytes\":\(Int(bytes)),\"seconds\":\(seconds),\"bytes_per_second\":\(bytes / seconds)}")
}
