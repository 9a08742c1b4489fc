import CKernels
import WeightFormats

/// Encodes `count` floats (a whole number of blocks) from `source` into `destination`.
typealias BlockEncodeKernel = (
    _ source: UnsafePointer<Float>, _ destination: UnsafeMutableRawPointer, _ count: Int
) -> Void

/// Float32 to stored tensor types: the plain float types (F16 rounds as NumPy's
/// `astype(float16)`, BF16 as gguf-py and torch: nearest even, NaNs quiet), the 32-element block
/// types bit-identical to gguf-py's `gguf.quants`, and the K-quants following llama.cpp's
/// reference (non-imatrix) `quantize_row_q*_K_ref`. The kernels are C (`CKernels`).
public enum TensorEncoding {
    /// The types WeightKit can write from Float.
    public static let encodableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    /// The encoder of `type` in the tier of `kernels` (every tier writes the same bits).
    static func kernel(for type: GGMLType, kernels: Kernels = .best) -> BlockEncodeKernel? {
        let k = kernels.c
        switch type {
        case .f32: return { source, destination, count in destination.copyMemory(from: source, byteCount: count * 4) }
        case .f16: return { k.encode_f16($0, $1, $2) }
        case .bf16: return { k.encode_bf16($0, $1, $2) }
        case .q8_0: return { k.quantize_q8_0($0, $1, $2) }
        case .q4_0: return { k.quantize_q4_0($0, $1, $2) }
        case .q4_1: return { k.quantize_q4_1($0, $1, $2) }
        case .q5_0: return { k.quantize_q5_0($0, $1, $2) }
        case .q5_1: return { k.quantize_q5_1($0, $1, $2) }
        case .q4_K: return { k.quantize_q4_k($0, $1, $2) }
        case .q5_K: return { k.quantize_q5_k($0, $1, $2) }
        case .q6_K: return { k.quantize_q6_k($0, $1, $2) }
        default: return nil
        }
    }

    public static func canEncode(_ type: GGMLType) -> Bool { kernel(for: type) != nil }

    /// Elements below which encoding stays on the calling thread.
    static let parallelThreshold = 1 << 16

    /// Encodes `count` floats as `type` into `destination` (`type.byteCount(elements: count)`
    /// bytes), in contiguous runs of blocks over up to `threads` threads (0: all cores), with
    /// the encoders of `kernels`.
    ///
    /// - Precondition: `type` is encodable and `count` is a multiple of its block size.
    public static func encode(
        _ source: UnsafePointer<Float>, count: Int, as type: GGMLType, into destination: UnsafeMutableRawPointer,
        threads: Int = 0, kernels: Kernels = .best
    ) {
        guard let kernel = kernel(for: type, kernels: kernels) else { preconditionFailure("\(type.name) has no encoder") }
        precondition(count % type.blockSize == 0, "not a whole number of \(type.name) blocks")
        let blockSize = type.blockSize, bytesPerBlock = type.bytesPerBlock
        let blocks = count / blockSize
        let workers = count < parallelThreshold ? 1 : threads
        let minimumBlocks = max(1, (parallelThreshold / 2) / blockSize)
        nonisolated(unsafe) let source = source, destination = destination
        Parallel.forChunks(of: blocks, workers: workers, minimumChunk: minimumBlocks) { chunk in
            kernel(source + chunk.lowerBound * blockSize, destination + chunk.lowerBound * bytesPerBlock, chunk.count * blockSize)
        }
    }

    /// Encodes an array of floats; returns the stored bytes.
    public static func encode(_ values: [Float], as type: GGMLType, threads: Int = 0, kernels: Kernels = .best) -> [UInt8] {
        let size = type.byteCount(elements: values.count)!
        var bytes = [UInt8](repeating: 0, count: size)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { destination in
                encode(source.baseAddress!, count: values.count, as: type, into: destination.baseAddress!, threads: threads,
                       kernels: kernels)
            }
        }
        return bytes
    }
}
