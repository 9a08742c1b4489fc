import CKernels
import Testing
@testable import WeightFormats

/// Choosing an instruction-set tier: what the processor reports, the errors for a tier it lacks
/// (naming each missing feature) and for a bad `WEIGHTKIT_ISA`.
@Suite struct KernelsTests {
    /// Haswell's features: AVX2, FMA, F16C with the OS saving YMM state, no AVX-512.
    static let haswell = UInt32(WK_TIER_AVX2_FEATURES)
    /// Skylake-SP's: AVX-512 F/BW/DQ/VL, no VNNI or BF16.
    static let skylake = UInt32(WK_TIER_AVX512_FEATURES)

    @Test("the best tier is the highest the processor supports, with every extension it has")
    func best() throws {
        let tiers = Kernels.supportedTiers
        #expect(tiers.first == .scalar)
        #expect(Kernels.best.tier == tiers.last)
        #expect(Kernels.best.table.pointee.tier == Kernels.best.tier.code)
        #expect(Kernels.best.table.pointee.extensions == Kernels.best.extensions.rawValue)
        for kernels in Kernels.allSupported {
            #expect(kernels.table.pointee.tier == kernels.tier.code, "\(kernels)")
            #expect(kernels.table.pointee.extensions == kernels.extensions.rawValue, "\(kernels)")
        }
        #expect(Set(Kernels.allSupported.map(\.table)).count == Kernels.allSupported.count)
    }

    @Test("a tier the processor lacks is an error naming the missing features")
    func missingFeatures() throws {
        #expect(throws: KernelError.unsupportedTier(
            tier: "avx2", missing: ["AVX", "AVX2", "FMA", "F16C", "OS support of AVX state (XSAVE YMM)"])) {
            try Kernels(tier: .avx2, extensions: nil, features: 0)
        }
        #expect(throws: KernelError.unsupportedTier(tier: "avx2", missing: ["FMA"])) {
            try Kernels(tier: .avx2, extensions: nil, features: Self.haswell & ~UInt32(WK_CPU_FMA))
        }
        #expect(throws: KernelError.unsupportedTier(
            tier: "avx512",
            missing: ["AVX512F", "AVX512BW", "AVX512DQ", "AVX512VL", "OS support of AVX-512 state (XSAVE opmask, ZMM)"])) {
            try Kernels(tier: .avx512, extensions: nil, features: Self.haswell)
        }
        #expect(throws: KernelError.unsupportedTier(tier: "avx512", missing: ["AVX512_VNNI"])) {
            try Kernels(tier: .avx512, extensions: .vnni, features: Self.skylake)
        }
        #expect(throws: KernelError.unsupportedTier(tier: "scalar", missing: ["AVX512_BF16"])) {
            try Kernels(tier: .scalar, extensions: .bf16, features: Self.skylake)
        }
        // What a processor has is what it gets.
        #expect(try Kernels(tier: .avx512, extensions: nil, features: Self.skylake).extensions == [])
        #expect(try Kernels(tier: .avx2, extensions: nil, features: Self.haswell).tier == .avx2)
        #expect(try Kernels(tier: .scalar, extensions: nil, features: 0).tier == .scalar)
    }

    @Test("WEIGHTKIT_ISA: a tier, the best without it, and errors naming it")
    func environment() throws {
        #expect(try Kernels.fromEnvironment([:], features: 0) == .best)
        #expect(try Kernels.fromEnvironment(["WEIGHTKIT_ISA": "scalar"], features: 0).tier == .scalar)
        #expect(try Kernels.fromEnvironment(["WEIGHTKIT_ISA": "avx2"], features: Self.haswell).tier == .avx2)
        #expect(throws: KernelError.unknownTier(name: "avx3", parameter: "WEIGHTKIT_ISA")) {
            try Kernels.fromEnvironment(["WEIGHTKIT_ISA": "avx3"], features: Self.haswell)
        }
        #expect(throws: KernelError.unknownTier(name: "", parameter: "WEIGHTKIT_ISA")) {
            try Kernels.fromEnvironment(["WEIGHTKIT_ISA": ""], features: Self.haswell)
        }
        #expect(throws: KernelError.unsupportedTier(tier: "avx512", missing: ["AVX512F", "AVX512BW", "AVX512DQ", "AVX512VL",
                                                                              "OS support of AVX-512 state (XSAVE opmask, ZMM)"])) {
            try Kernels.fromEnvironment(["WEIGHTKIT_ISA": "avx512"], features: Self.haswell)
        }
        let message = KernelError.unknownTier(name: "avx3", parameter: "WEIGHTKIT_ISA").description
        #expect(message.contains("WEIGHTKIT_ISA") && message.contains("avx3"))
    }
}
