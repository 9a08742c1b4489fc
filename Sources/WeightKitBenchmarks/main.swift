// weightkit-bench: micro-benchmarks behind `make bench` (see Benchmarks/run.sh and
// Docs/PERFORMANCE.md). Prints one JSON object per measurement.
import WeightFormats
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best of `repeats` runs of `body`, in seconds.
func best(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<repeats {
        let start = now()
        try body()
        fastest = min(fastest, now() - start)
    }
    return fastest
}

func decodeBenchmark(path: String, threads: [Int]) throws {
    let checkpoint = try Checkpoint.open(path)
    for tensor in checkpoint.tensors {
        var output = [Float](repeating: 0, count: tensor.elementCount)
        for threadCount in threads {
            let seconds = try output.withUnsafeMutableBufferPointer { buffer in
                try tensor.decode(into: buffer, threads: threadCount)  // warm: page in the source
                return try best(5) { try tensor.decode(into: buffer, threads: threadCount) }
            }
            let rate = Double(tensor.elementCount) / seconds
            let bytes = Double(tensor.byteCount + tensor.elementCount * 4) / seconds
            print("{\"benchmark\":\"decode\",\"type\":\"\(tensor.dtype.name)\",\"threads\":\(threadCount),\"elements\":\(tensor.elementCount),\"seconds\":\(seconds),\"elements_per_second\":\(rate),\"bytes_per_second\":\(bytes)}")
        }
    }
}

func openBenchmark(paths: [String]) throws {
    for path in paths {
        let seconds = try best(20) { _ = try Checkpoint.open(path) }
        print("{\"benchmark\":\"open\",\"file\":\"\(PathName.lastComponent(of: path))\",\"seconds\":\(seconds)}")
    }
}

func writeError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}

/// The instruction-set tier of every measurement: WEIGHTKIT_ISA (scalar, avx2, avx512), else the
/// best the processor has. Read once, here.
let kernels: Kernels = {
    let variable = Kernels.environmentVariable
    let environment = getenv(variable).map { [variable: String(cString: $0)] } ?? [:]
    do {
        return try Kernels.fromEnvironment(environment)
    } catch {
        writeError("error: \(error)\n")
        exit(1)
    }
}()

let arguments = Array(CommandLine.arguments.dropFirst())
writeError("isa: \(kernels)\n")
do {
    switch arguments.first {
    case "decode":
        try decodeBenchmark(path: arguments[1], threads: [1, Parallel.processorCount])
    case "open":
        try openBenchmark(paths: Array(arguments.dropFirst()))
    case "mtp-forward":
        try multiTokenForwardBenchmark(directory: arguments[1], tokens: Int(arguments[2]) ?? 128)
    case "expert-generate":
        try expertGenerateBenchmark(directory: arguments[1], prompt: Int(arguments[2]) ?? 16, tokens: Int(arguments[3]) ?? 100)
    case "quantize":
        try quantizeBenchmark(type: arguments.count > 1 ? arguments[1] : "q8_0", count: arguments.count > 2 ? Int(arguments[2]) ?? (1 << 26) : 1 << 26)
    case "tokenizer-load":
        try tokenizerLoadBenchmark(paths: Array(arguments.dropFirst()))
    case "tokenizer-encode":
        try tokenizerEncodeBenchmark(path: arguments[1], textPath: arguments[2])
    case "bandwidth":
        bandwidthBenchmark(megabytes: arguments.count > 1 ? Int(arguments[1]) ?? 1024 : 1024,
                           threads: arguments.count > 2 ? Int(arguments[2]) ?? 2 : 2)
    case "product":
        // product TYPE ROWS COLUMNS TOKENS [THREADS] [exact]
        guard arguments.count >= 5, let rows = Int(arguments[2]), let columns = Int(arguments[3]), let tokens = Int(arguments[4])
        else {
            writeError("usage: weightkit-bench product TYPE ROWS COLUMNS TOKENS [THREADS] [exact]\n")
            exit(2)
        }
        try productBenchmark(type: arguments[1], rows: rows, columns: columns, tokens: tokens,
                             threads: arguments.count > 5 ? Int(arguments[5]) ?? 2 : 2,
                             activations: arguments.count > 6 && arguments[6] == "exact" ? .exact : .quantized)
    case "vision-encode":
        try visionEncodeBenchmark(directory: arguments[1], pixelsPath: arguments[2])
    case "lattice-products":
        try latticeProductBenchmark(types: Array(arguments.dropFirst()), rounds: 7, threads: 1)
    default:
        print("usage: weightkit-bench decode FILE.gguf | open FILE... | mtp-forward DIR [T] | expert-generate DIR [PROMPT] [N] | vision-encode DIR PIXELS.npy | bandwidth [MIB] [THREADS] | product TYPE ROWS COLUMNS TOKENS [THREADS] [exact] | quantize [TYPE] [ELEMENTS] | tokenizer-load PATH... | tokenizer-encode PATH TEXT | lattice-products [TYPE...]")
        exit(2)
    }
} catch {
    print("error: \(error)")
    exit(1)
}
