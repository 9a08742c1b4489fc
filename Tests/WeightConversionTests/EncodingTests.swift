import Testing
import WeightConversion
import WeightFormats

/// Casts and quantisers against the bytes gguf-py, NumPy and llama.cpp produce for the same
/// inputs (Fixtures/generators/conversion.py).
@Suite struct EncodingTests {
    static let input: NPY.Array32 = try! NPY.read(Fixture.path("conversion/quant_input.npy"))

    static let referenceTypes: [GGMLType] = {
        let producers = (try? Fixture.json("conversion/quant.json"))?["producers"]?.objectValue?.keys ?? []
        return producers.compactMap { GGMLType(name: $0) }
    }()

    @Test func everyEncodableTypeHasReferenceBytes() {
        // K-quant references need llama.cpp's library; the others always exist.
        let required: [GGMLType] = [.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]
        for type in required { #expect(Self.referenceTypes.contains(type), "\(type.name) missing") }
    }

    /// In every instruction-set tier: the encoders are compiled once per tier, and each must
    /// write the reference's bits.
    @Test(arguments: referenceTypes, Kernels.allSupported)
    func encodingIsBitIdenticalToReference(type: GGMLType, kernels: Kernels) throws {
        let expected = try Fixture.bytes("conversion/quant/\(type.name).bin")
        let rowLength = Self.input.shape[1]
        let rowBytes = type.byteCount(elements: rowLength)!
        #expect(expected.count == rowBytes * Self.input.shape[0])
        let encoded = TensorEncoding.encode(Self.input.values, as: type, kernels: kernels)
        #expect(encoded.count == expected.count)
        for row in 0..<Self.input.shape[0] {
            let range = (row * rowBytes)..<((row + 1) * rowBytes)
            #expect(Array(encoded[range]) == Array(expected[range]), "\(kernels) \(type.name) row \(row) differs")
        }
    }

    @Test func parallelEncodingEqualsSingleThreaded() {
        var values: [Float] = []
        for i in 0..<(1 << 18) { values.append(Float(sin(Double(i) * 0.37)) * Float(i % 97)) }
        for type in [GGMLType.q8_0, .q4_K, .bf16] {
            #expect(TensorEncoding.encode(values, as: type, threads: 1) == TensorEncoding.encode(values, as: type, threads: 4))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
