import WeightConversion
import WeightFormats

/// Encoding speed of `type` on `count` normally distributed floats, on 1 thread and on all
/// cores, best of 5 after a warm-up.
func quantizeBenchmark(type name: String, count: Int) throws {
    let type = try Converter.type(named: name)
    var generator = SplitMix(seed: 1)
    let values = (0..<count).map { _ in generator.nextGaussian() }
    var output = [UInt8](repeating: 0, count: count / type.blockSize * type.bytesPerBlock)
    for threads in [1, Parallel.processorCount] {
        let seconds = values.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBytes { out in
                TensorEncoding.encode(source.baseAddress!, count: count, as: type, into: out.baseAddress!, threads: threads)
                return best(5) {
                    TensorEncoding.encode(source.baseAddress!, count: count, as: type, into: out.baseAddress!, threads: threads)
                }
            }
        }
        print("{\"benchmark\":\"quantize\",\"type\":\"\(type.name)\",\"threads\":\(threads),\"elements\":\(count),\"seconds\":\(seconds),\"elements_per_second\":\(Double(count) / seconds)}")
    }
}

/// A small deterministic generator for benchmark inputs.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Box-Muller.
    mutating func nextGaussian() -> Float {
        let u = (Double(next() >> 11) + 1) / 9_007_199_254_740_993.0
        let v = Double(next() >> 11) / 9_007_199_254_740_992.0
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}

#if canImport(Glibc)
import Glibc
#endif
