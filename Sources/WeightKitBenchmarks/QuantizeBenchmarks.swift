import WeightCompute
import WeightConversion
import WeightFormats

/// Encoding speed of `type` on `count` normally distributed floats, on 1 thread and on all
/// cores, best of 5 after a warm-up.
func quantizeBenchmark(type name: String, count: Int) throws {
    let type = try Converter.type(named: name)
    var generator = SeededGenerator(seed: 1)
    let values = (0..<count).map { _ in generator.nextGaussian() }
    var output = [UInt8](repeating: 0, count: count / type.blockSize * type.bytesPerBlock)
    for threads in [1, Parallel.processorCount] {
        let seconds = values.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBytes { out in
                TensorEncoding.encode(source.baseAddress!, count: count, as: type, into: out.baseAddress!, threads: threads, kernels: kernels)
                return best(5) {
                    TensorEncoding.encode(source.baseAddress!, count: count, as: type, into: out.baseAddress!, threads: threads, kernels: kernels)
                }
            }
        }
        print("{\"benchmark\":\"quantize\",\"type\":\"\(type.name)\",\"threads\":\(threads),\"elements\":\(count),\"seconds\":\(seconds),\"elements_per_second\":\(Double(count) / seconds)}")
    }
}

/// Box-Muller over the library's seeded generator: normally distributed benchmark inputs.
extension SeededGenerator {
    mutating func nextGaussian() -> Float {
        let u = 1 - uniform()  // (0, 1]: log stays finite
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform()))
    }
}

#if canImport(Glibc)
import Glibc
#endif
