/// Which kernel decodes which stored type. Each family of types registers its kernels in its
/// own file (`PlainDecoding`, `LegacyQuantDecoding`, `KQuantDecoding`, `IQuantDecoding`); this
/// file only joins the tables, puts CKernels' decoders (bodies/decode.h, compiled per
/// instruction-set tier) in front where they exist, and handles big-endian files.
enum DecodeKernels {
    /// The Swift kernels, by ggml type.
    static let swiftKernels: [GGMLType: BlockDecodeKernel] = plainKernels
        .merging(legacyQuantKernels) { first, _ in first }
        .merging(kQuantKernels) { first, _ in first }
        .merging(iQuantKernels) { first, _ in first }

    /// Kernels for little-endian data, by ggml type: CKernels' (in the best tier the processor
    /// has) for the types it decodes, the Swift ones for the rest.
    static let ggml: [GGMLType: BlockDecodeKernel] = swiftKernels.merging(
        Kernels.best.blockDecoders.mapValues { kernel -> BlockDecodeKernel in
            { source, destination, count in kernel(source, destination, count) }
        }) { _, c in c }

    static func kernel(for dtype: TensorDType, byteOrder: ByteOrder) -> BlockDecodeKernel? {
        switch (dtype, byteOrder) {
        case (.ggml(let type), .littleEndian):
            return ggml[type]
        case (.ggml(let type), .bigEndian):
            return bigEndianKernel(for: type)
        case (.safetensors(let dtype), .littleEndian):
            if let type = dtype.ggmlEquivalent { return ggml[type] }
            return safetensorsKernels[dtype]
        case (.safetensors, .bigEndian):
            return nil
        }
    }

    /// Why a type has no kernel, for the error message.
    static func whyUnsupported(_ dtype: TensorDType) -> String {
        switch dtype {
        case .ggml(.q8_1), .ggml(.q8_K):
            return "ggml uses this type only for intermediate products; it is not decoded"
        case .safetensors(.c64):
            return "complex values have no single float value"
        case .safetensors(.f6_E2M3), .safetensors(.f6_E3M2):
            return "the bit packing of 6-bit floats is not defined by a reference implementation yet"
        default:
            return "decoding to float is not supported for this type"
        }
    }

    // MARK: Big-endian files

    /// The 16-bit fields inside one block that a big-endian file stores byte-swapped, as
    /// gguf-py's `gguf_convert_endian.py` writes them. Types missing here cannot be read from
    /// big-endian files (that script refuses to convert them too).
    static let bigEndianHalfFields: [GGMLType: [Int]] = [
        .q4_0: [0], .q8_0: [0], .q4_K: [0, 2], .q6_K: [208], .mxfp4: [], .nvfp4: [],
    ]

    static func bigEndianKernel(for type: GGMLType) -> BlockDecodeKernel? {
        if let plain = bigEndianPlainKernels[type] { return plain }
        guard let fields = bigEndianHalfFields[type], let kernel = ggml[type] else { return nil }
        let blockSize = type.blockSize
        let bytesPerBlock = type.bytesPerBlock
        return { source, destination, count in
            withUnsafeTemporaryAllocation(byteCount: bytesPerBlock, alignment: 16) { block in
                for index in 0..<(count / blockSize) {
                    block.copyMemory(from: UnsafeRawBufferPointer(start: source + index * bytesPerBlock, count: bytesPerBlock))
                    for field in fields {
                        let swapped = block.load(fromByteOffset: field, as: UInt16.self).byteSwapped
                        block.storeBytes(of: swapped, toByteOffset: field, as: UInt16.self)
                    }
                    kernel(UnsafeRawPointer(block.baseAddress!), destination + index * blockSize, blockSize)
                }
            }
        }
    }
}
