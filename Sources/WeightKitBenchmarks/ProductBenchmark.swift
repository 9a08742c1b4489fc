import CKernels
import WeightCompute
import WeightFormats
#if canImport(Glibc)
import Glibc
#endif

/// One matrix product `y[tokens, rows] = x · Wᵀ` with W of `rows` x `columns` normally
/// distributed values quantised to `type` (wk_quantize_rows, llama.cpp's quantisers) and x
/// normally distributed, on `threads` threads, activations quantised (the default) or exact;
/// best of `repeats` runs after a warm-up. Tokens 1 is the decode product, more the prefill
/// one; the kernels' speed per type apart from the rest of a forward pass.
func productBenchmark(type name: String, rows: Int, columns: Int, tokens: Int, threads: Int,
                      activations: ActivationPrecision, repeats: Int = 10) throws {
    guard let type = GGMLType(name: name), wk_quantize_block_size(type.rawValue) > 0 else {
        writeError("error: product: no quantiser for type '\(name)'\n")
        exit(1)
    }
    guard rows > 0, tokens > 0, columns > 0, columns % type.blockSize == 0 else {
        writeError("error: product: rows and tokens must be positive, columns a positive multiple of \(type.blockSize)\n")
        exit(1)
    }
    var generator = SeededGenerator(seed: 2)
    let weights = (0..<(rows * columns)).map { _ in generator.nextGaussian() }
    let x = (0..<(tokens * columns)).map { _ in generator.nextGaussian() }
    let storage = UnsafeMutableRawPointer.allocate(byteCount: rows * columns / type.blockSize * type.bytesPerBlock, alignment: 64)
    defer { storage.deallocate() }
    guard wk_quantize_rows(type.rawValue, weights, storage, Int64(rows), Int64(columns), nil) == 0 else {
        writeError("error: product: quantising to \(type.name) failed\n")
        exit(1)
    }
    let matrix = WeightMatrix(rows: rows, columns: columns, type: type, base: UnsafeRawPointer(storage), owner: nil, kernels: kernels)
    let context = ComputeContext(threads: threads, kernels: kernels, activations: activations)
    var y = [Float](repeating: 0, count: tokens * rows)
    let seconds = y.withUnsafeMutableBufferPointer { out in
        matrix.apply(x, count: tokens, into: out.baseAddress!, context: context)
        return best(repeats) { matrix.apply(x, count: tokens, into: out.baseAddress!, context: context) }
    }
    let operations = 2 * Double(rows) * Double(columns) * Double(tokens)
    print("{\"benchmark\":\"product\",\"type\":\"\(type.name)\",\"rows\":\(rows),\"columns\":\(columns),\"tokens\":\(tokens),\"threads\":\(threads),\"activations\":\"\(activations == .exact ? "exact" : "quantized")\",\"seconds\":\(seconds),\"operations_per_second\":\(operations / seconds)}")
}
