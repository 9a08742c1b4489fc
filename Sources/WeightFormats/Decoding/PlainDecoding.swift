/// Kernels for element-wise types: IEEE and brain floats, integers, the 8-bit and 4-bit float
/// formats of safetensors. Conversions round to nearest even, as NumPy's `astype(float32)` does.
extension DecodeKernels {
    static let plainKernels: [GGMLType: BlockDecodeKernel] = [
        .f32: { source, destination, count in
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        },
        .f16: decodeFloat16,
        .bf16: decodeBFloat16,
        .f64: { source, destination, count in convertElements(source, destination, count, Double.self) { Float($0) } },
        .i8: { source, destination, count in convertElements(source, destination, count, Int8.self) { Float($0) } },
        .i16: { source, destination, count in convertElements(source, destination, count, Int16.self) { Float($0) } },
        .i32: { source, destination, count in convertElements(source, destination, count, Int32.self) { Float($0) } },
        .i64: { source, destination, count in convertElements(source, destination, count, Int64.self) { Float($0) } },
    ]

    static let bigEndianPlainKernels: [GGMLType: BlockDecodeKernel] = [
        .f32: { source, destination, count in
            convertElements(source, destination, count, UInt32.self) { Float(bitPattern: $0.byteSwapped) }
        },
        .f16: { source, destination, count in
            convertElements(source, destination, count, UInt16.self) { Float(Float16(bitPattern: $0.byteSwapped)) }
        },
        .bf16: { source, destination, count in
            convertElements(source, destination, count, UInt16.self) { Float(bitPattern: UInt32($0.byteSwapped) << 16) }
        },
        .f64: { source, destination, count in
            convertElements(source, destination, count, UInt64.self) { Float(Double(bitPattern: $0.byteSwapped)) }
        },
        .i8: { source, destination, count in convertElements(source, destination, count, Int8.self) { Float($0) } },
        .i16: { source, destination, count in convertElements(source, destination, count, Int16.self) { Float($0.byteSwapped) } },
        .i32: { source, destination, count in convertElements(source, destination, count, Int32.self) { Float($0.byteSwapped) } },
        .i64: { source, destination, count in convertElements(source, destination, count, Int64.self) { Float($0.byteSwapped) } },
    ]

    static let safetensorsKernels: [SafeTensorsDType: BlockDecodeKernel] = [
        .bool: { source, destination, count in convertElements(source, destination, count, UInt8.self) { $0 != 0 ? 1 : 0 } },
        .u8: { source, destination, count in convertElements(source, destination, count, UInt8.self) { Float($0) } },
        .u16: { source, destination, count in convertElements(source, destination, count, UInt16.self) { Float($0) } },
        .u32: { source, destination, count in convertElements(source, destination, count, UInt32.self) { Float($0) } },
        .u64: { source, destination, count in convertElements(source, destination, count, UInt64.self) { Float($0) } },
        .f8_E4M3: lookupKernel(Float8Tables.e4m3fn),
        .f8_E5M2: lookupKernel(Float8Tables.e5m2),
        .f8_E4M3FNUZ: lookupKernel(Float8Tables.e4m3fnuz),
        .f8_E5M2FNUZ: lookupKernel(Float8Tables.e5m2fnuz),
        .f8_E8M0: lookupKernel(Float8Tables.e8m0),
        .f4: { source, destination, count in
            // Two E2M1 values per byte, the first in the low nibble.
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            for index in 0..<(count / 2) {
                let byte = bytes[index]
                destination[2 * index] = Float8Tables.e2m1[Int(byte & 0x0F)]
                destination[2 * index + 1] = Float8Tables.e2m1[Int(byte >> 4)]
            }
        },
    ]

    /// Element-by-element conversion of a little-endian (or pre-swapped) array.
    @inline(__always)
    static func convertElements<T>(
        _ source: UnsafeRawPointer, _ destination: UnsafeMutablePointer<Float>, _ count: Int, _: T.Type,
        _ convert: (T) -> Float
    ) {
        for index in 0..<count {
            destination[index] = convert(source.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
        }
    }

    static func lookupKernel(_ table: [Float]) -> BlockDecodeKernel {
        { source, destination, count in
            let bytes = source.assumingMemoryBound(to: UInt8.self)
            table.withUnsafeBufferPointer { table in
                for index in 0..<count { destination[index] = table[Int(bytes[index])] }
            }
        }
    }

    static let decodeFloat16: BlockDecodeKernel = { source, destination, count in
        var index = 0
        while index + 16 <= count {
            let halves = source.loadUnaligned(fromByteOffset: index * 2, as: SIMD16<Float16>.self)
            UnsafeMutableRawPointer(destination + index).storeBytes(of: SIMD16<Float>(halves), as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            destination[index] = Float(source.loadUnaligned(fromByteOffset: index * 2, as: Float16.self))
            index += 1
        }
    }

    static let decodeBFloat16: BlockDecodeKernel = { source, destination, count in
        var index = 0
        while index + 16 <= count {
            let raw = source.loadUnaligned(fromByteOffset: index * 2, as: SIMD16<UInt16>.self)
            let widened = SIMD16<UInt32>(truncatingIfNeeded: raw) &<< 16
            UnsafeMutableRawPointer(destination + index).storeBytes(of: widened, as: SIMD16<UInt32>.self)
            index += 16
        }
        while index < count {
            let raw = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
            destination[index] = Float(bitPattern: UInt32(raw) << 16)
            index += 1
        }
    }
}

/// Value tables for the 8-bit and 4-bit float formats, built from their definitions
/// (OCP 8-bit floating point and OCP Microscaling formats; the FNUZ variants as in PyTorch).
enum Float8Tables {
    /// Decodes a sign-exponent-mantissa byte. `bias`: exponent bias; `nanAllOnes`: the all-ones
    /// exponent-and-mantissa pattern is NaN (E4M3FN) rather than an exponent of infinities (E5M2).
    private static func table(exponentBits: Int, mantissaBits: Int, bias: Int, kind: Kind) -> [Float] {
        (0..<256).map { raw in
            let byte = UInt8(raw)
            let sign: Float = byte & 0x80 != 0 ? -1 : 1
            let exponent = Int(byte >> UInt8(mantissaBits)) & ((1 << exponentBits) - 1)
            let mantissa = Int(byte) & ((1 << mantissaBits) - 1)
            let maxExponent = (1 << exponentBits) - 1
            switch kind {
            case .ieee:
                if exponent == maxExponent { return mantissa == 0 ? sign * .infinity : .nan }
            case .finiteNaNAllOnes:
                if exponent == maxExponent && mantissa == (1 << mantissaBits) - 1 { return .nan }
            case .unsignedZeroNaN:
                if byte == 0x80 { return .nan }
            }
            let fraction = Float(mantissa) / Float(1 << mantissaBits)
            if exponent == 0 {
                return sign * fraction * Float(sign: .plus, exponent: 1 - bias, significand: 1)
            }
            return sign * (1 + fraction) * Float(sign: .plus, exponent: exponent - bias, significand: 1)
        }
    }

    private enum Kind { case ieee, finiteNaNAllOnes, unsignedZeroNaN }

    static let e4m3fn = table(exponentBits: 4, mantissaBits: 3, bias: 7, kind: .finiteNaNAllOnes)
    static let e5m2 = table(exponentBits: 5, mantissaBits: 2, bias: 15, kind: .ieee)
    static let e4m3fnuz = table(exponentBits: 4, mantissaBits: 3, bias: 8, kind: .unsignedZeroNaN)
    static let e5m2fnuz = table(exponentBits: 5, mantissaBits: 2, bias: 16, kind: .unsignedZeroNaN)
    /// E8M0: 2^(e - 127); 0xFF is NaN.
    static let e8m0: [Float] = (0..<256).map { e in
        e == 255 ? .nan : Float(sign: .plus, exponent: e - 127, significand: 1)
    }
    /// E2M1 (FP4), sign in bit 3.
    static let e2m1: [Float] = (0..<16).map { nibble in
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        return (nibble & 8 != 0 ? -1 : 1) * magnitudes[nibble & 7]
    }
}
