import WeightCompute
import WeightFormats

/// One decode product (a single token) of the lattice, ternary and MXFP4 types on the 0.5B
/// shapes (896 x 4864 and 4864 x 896; 4864 x 1024 for blocks of 256): the integer kernel against 8-bit activations
/// (`.quantized`) and decode-then-dot (`.exact`), taking turns in the same run; prints the
/// median time of each and their ratio per type and shape. The weights are random bytes with
/// every block's scale set to 1, so that the products stay finite.
func latticeProductBenchmark(types names: [String], rounds: Int, threads: Int) throws {
    let all: [GGMLType] = [.iq1_S, .iq1_M, .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .tq1_0, .tq2_0, .mxfp4, .nvfp4, .q1_0,
                           .q2_0]
    let types = names.isEmpty ? all : all.filter { names.contains($0.name) || names.contains($0.name.lowercased()) }
    var generator = SeededGenerator(seed: 18)
    for type in types {
        // Rows of 896 are not whole blocks of 256 values: those types take 1,024 columns instead.
        for (rows, columns) in [(4864, 896 % type.blockSize == 0 ? 896 : 1024), (896, 4864)] {
            let blocks = rows * columns / type.blockSize
            let storage = UnsafeMutableRawPointer.allocate(byteCount: blocks * type.bytesPerBlock, alignment: 64)
            defer { storage.deallocate() }
            let bytes = storage.bindMemory(to: UInt8.self, capacity: blocks * type.bytesPerBlock)
            for i in 0..<(blocks * type.bytesPerBlock) { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
            for b in 0..<blocks { setUnitScale(type, storage + b * type.bytesPerBlock) }
            let matrix = WeightMatrix(rows: rows, columns: columns, type: type, base: UnsafeRawPointer(storage), owner: nil,
                                      kernels: kernels)
            let x = (0..<columns).map { _ in Float.random(in: -1...1, using: &generator) }
            var y = [Float](repeating: 0, count: rows)
            let integer = ComputeContext(threads: threads, kernels: kernels, activations: .quantized)
            let float = ComputeContext(threads: threads, kernels: kernels, activations: .exact)
            func time(_ context: ComputeContext) -> Double {
                best(3) { y.withUnsafeMutableBufferPointer { matrix.apply(x, count: 1, into: $0.baseAddress!, context: context) } }
            }
            _ = time(integer); _ = time(float)  // warm
            var integerTimes: [Double] = [], floatTimes: [Double] = [], ratios: [Double] = []
            for _ in 0..<rounds {
                let f = time(float), i = time(integer)
                floatTimes.append(f); integerTimes.append(i); ratios.append(f / i)
            }
            func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
            print("{\"benchmark\":\"lattice_product\",\"type\":\"\(type.name)\",\"rows\":\(rows),\"columns\":\(columns),\"threads\":\(threads),\"integer_seconds\":\(median(integerTimes)),\"decode_then_dot_seconds\":\(median(floatTimes)),\"speedup\":\(median(ratios))}")
        }
    }
}

/// Sets the block's scale to 1 (f16 0x3C00; E8M0 127 for MXFP4; UE4M3 0x38 for NVFP4's four;
/// IQ1_M's scale in the top nibbles of its four u16 scale words).
private func setUnitScale(_ type: GGMLType, _ block: UnsafeMutableRawPointer) {
    switch type {
    case .mxfp4: block.storeBytes(of: 127, as: UInt8.self)
    case .nvfp4: block.storeBytes(of: 0x3838_3838, as: UInt32.self)
    case .tq1_0: block.storeBytes(of: 0x3C00, toByteOffset: 52, as: UInt16.self)
    case .tq2_0: block.storeBytes(of: 0x3C00, toByteOffset: 64, as: UInt16.self)
    case .iq1_M:
        for (word, nibble) in [0, 0, 0xC, 3].enumerated() {
            let offset = 48 + 2 * word
            let value = block.loadUnaligned(fromByteOffset: offset, as: UInt16.self) & 0x0FFF | UInt16(nibble) << 12
            block.storeBytes(of: value, toByteOffset: offset, as: UInt16.self)
        }
    default: block.storeBytes(of: 0x3C00, as: UInt16.self)
    }
}
