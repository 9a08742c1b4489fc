import CKernels

/// An instruction-set tier of the vector kernels (CKernels). Every kernel is compiled for each
/// tier; which one runs is a value the caller holds (`Kernels`), chosen once, never a build
/// flag or a process-wide setting.
public enum KernelTier: String, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// The x86-64 baseline (SSE2), and every other architecture: plain C loops.
    case scalar
    /// AVX2 with FMA and F16C (Haswell, Zen 1 and later).
    case avx2
    /// AVX-512 F, BW, DQ and VL, with VNNI and BF16 where the processor has them (Skylake-SP,
    /// Ice Lake, Zen 4 and later).
    case avx512

    var code: Int32 {
        switch self {
        case .scalar: Int32(WK_TIER_SCALAR)
        case .avx2: Int32(WK_TIER_AVX2)
        case .avx512: Int32(WK_TIER_AVX512)
        }
    }

    /// The processor features the tier needs (CPUID bits and the OS support XGETBV reports).
    var requiredFeatures: UInt32 {
        switch self {
        case .scalar: 0
        case .avx2: UInt32(WK_TIER_AVX2_FEATURES)
        case .avx512: UInt32(WK_TIER_AVX512_FEATURES)
        }
    }

    /// The tier named `name` (`scalar`, `avx2`, `avx512`: the values of `WEIGHTKIT_ISA`).
    /// - Throws: `KernelError.unknownTier` naming `parameter`.
    public init(named name: String, parameter: String = "name") throws(KernelError) {
        guard let tier = KernelTier(rawValue: name) else {
            throw .unknownTier(name: name, parameter: parameter)
        }
        self = tier
    }

    public var description: String { rawValue }

    public static func < (a: KernelTier, b: KernelTier) -> Bool { a.code < b.code }
}

/// The AVX-512 extensions the `avx512` tier uses where present: VNNI (`vpdpbusd`, for Q8_0
/// products) and BF16 (`vdpbf16ps`, for bfloat16 prefill). Without them the tier takes the AVX2
/// integer products for Q8_0 and the float32 product for bfloat16 (Docs/MODELS.md).
public struct KernelExtensions: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let vnni = KernelExtensions(rawValue: UInt32(WK_EXTENSION_VNNI))
    public static let bf16 = KernelExtensions(rawValue: UInt32(WK_EXTENSION_BF16))

    public var description: String {
        [(KernelExtensions.vnni, "VNNI"), (.bf16, "BF16")].filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}

/// Why a tier cannot be used.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The processor (or the operating system's saving of its registers) lacks `missing`.
    case unsupportedTier(tier: String, missing: [String])
    /// `name`, given as `parameter`, is not a tier (`scalar`, `avx2`, `avx512`).
    case unknownTier(name: String, parameter: String)
    /// This build has no such tier (AVX2 and AVX-512 exist on x86-64 only).
    case tierNotBuilt(tier: String)

    public var description: String {
        switch self {
        case .unsupportedTier(let tier, let missing):
            "the \(tier) kernels need \(missing.joined(separator: ", ")), which this processor does not have"
        case .unknownTier(let name, let parameter):
            "\(parameter): '\(name)' is not an instruction-set tier (scalar, avx2, avx512)"
        case .tierNotBuilt(let tier):
            "the \(tier) kernels are not built for this architecture"
        }
    }
}

/// One tier's kernels: an immutable C table (`struct wk_kernels`) of function pointers that the
/// compute code calls (`kernels.c.matvec_f32(...)`). A value, passed to whatever computes;
/// `Kernels.best` is the best the processor has.
public struct Kernels: @unchecked Sendable, Equatable, CustomStringConvertible {
    /// A static table in CKernels, never freed or written.
    public let table: UnsafePointer<wk_kernels>
    public let tier: KernelTier
    public let extensions: KernelExtensions

    /// The C table, for calls: `kernels.c.gemm(...)`.
    @inline(__always) public var c: wk_kernels { table.pointee }

    /// The kernels of `tier`, with the extensions given or, when nil, every one of them the
    /// processor has (AVX-512 only).
    /// - Throws: `KernelError.unsupportedTier` naming each feature the processor lacks;
    ///   `.tierNotBuilt` off x86-64.
    public init(tier: KernelTier, extensions: KernelExtensions? = nil) throws(KernelError) {
        try self.init(tier: tier, extensions: extensions, features: Kernels.processorFeatures)
    }

    /// The same for a processor with `features` (WK_CPU_* bits).
    init(tier: KernelTier, extensions: KernelExtensions?, features: UInt32) throws(KernelError) {
        let missingBits = tier.requiredFeatures & ~features
        guard missingBits == 0 else {
            throw .unsupportedTier(tier: tier.rawValue, missing: Kernels.featureNames(missingBits))
        }
        let available = tier == .avx512 ? Kernels.extensions(of: features) : []
        let chosen = extensions ?? available
        guard available.isSuperset(of: chosen) else {
            throw .unsupportedTier(
                tier: tier.rawValue, missing: Kernels.featureNames(Kernels.featureBits(chosen.subtracting(available))))
        }
        guard let table = wk_kernels_for(tier.code, chosen.rawValue) else {
            throw .tierNotBuilt(tier: tier.rawValue)
        }
        self.table = table
        self.tier = tier
        self.extensions = chosen
    }

    /// The best tier the processor has, with every extension it has: the default everywhere
    /// a `Kernels` is not given. Computed once from CPUID (a constant of the process).
    public static let best: Kernels = {
        for tier in KernelTier.allCases.reversed() {
            if let kernels = try? Kernels(tier: tier) { return kernels }
        }
        preconditionFailure("the scalar kernels exist on every architecture")
    }()

    /// The tiers the processor can run, lowest first.
    public static var supportedTiers: [KernelTier] {
        KernelTier.allCases.filter { (try? Kernels(tier: $0)) != nil }
    }

    /// The tables tests iterate: each tier the processor has with all its extensions, and the
    /// AVX-512 tier also without VNNI and BF16 (what Skylake-SP runs). Between them they hold
    /// every variant of every kernel: a table with one extension only mixes paths the two
    /// others already run.
    public static var allSupported: [Kernels] {
        var all: [Kernels] = []
        for tier in supportedTiers {
            guard let full = try? Kernels(tier: tier) else { continue }
            all.append(full)
            if tier == .avx512, !full.extensions.isEmpty, let plain = try? Kernels(tier: tier, extensions: []) {
                all.append(plain)
            }
        }
        return all
    }

    /// The default for the command-line tool and the benchmarks: the tier `WEIGHTKIT_ISA`
    /// names in `environment` (`scalar`, `avx2`, `avx512`), else `best`.
    /// - Throws: `KernelError.unknownTier` naming WEIGHTKIT_ISA, or `.unsupportedTier`.
    public static func fromEnvironment(_ environment: [String: String]) throws(KernelError) -> Kernels {
        try fromEnvironment(environment, features: processorFeatures)
    }

    static func fromEnvironment(_ environment: [String: String], features: UInt32) throws(KernelError) -> Kernels {
        guard let name = environment[environmentVariable] else { return best }
        return try Kernels(tier: KernelTier(named: name, parameter: environmentVariable), extensions: nil, features: features)
    }

    /// The environment variable `fromEnvironment` reads.
    public static let environmentVariable = "WEIGHTKIT_ISA"

    /// "avx512 (VNNI, BF16)", "avx2", "scalar".
    public var description: String {
        extensions.isEmpty ? tier.rawValue : "\(tier.rawValue) (\(extensions))"
    }

    public static func == (a: Kernels, b: Kernels) -> Bool { a.table == b.table }

    // MARK: Processor features

    /// What CPUID and XGETBV report (WK_CPU_* bits).
    static var processorFeatures: UInt32 { wk_cpu_features() }

    static let featureTable: [(bit: Int32, name: String)] = [
        (WK_CPU_AVX, "AVX"), (WK_CPU_AVX2, "AVX2"), (WK_CPU_FMA, "FMA"), (WK_CPU_F16C, "F16C"),
        (WK_CPU_OS_YMM, "OS support of AVX state (XSAVE YMM)"),
        (WK_CPU_AVX512F, "AVX512F"), (WK_CPU_AVX512BW, "AVX512BW"), (WK_CPU_AVX512DQ, "AVX512DQ"),
        (WK_CPU_AVX512VL, "AVX512VL"), (WK_CPU_OS_ZMM, "OS support of AVX-512 state (XSAVE opmask, ZMM)"),
        (WK_CPU_AVX512VNNI, "AVX512_VNNI"), (WK_CPU_AVX512BF16, "AVX512_BF16"),
    ].map { (Int32($0.0), $0.1) }

    static func featureNames(_ bits: UInt32) -> [String] {
        featureTable.filter { bits & UInt32($0.bit) != 0 }.map(\.name)
    }

    static func extensions(of features: UInt32) -> KernelExtensions {
        var result: KernelExtensions = []
        if features & UInt32(WK_CPU_AVX512VNNI) != 0 { result.insert(.vnni) }
        if features & UInt32(WK_CPU_AVX512BF16) != 0 { result.insert(.bf16) }
        return result
    }

    static func featureBits(_ extensions: KernelExtensions) -> UInt32 {
        (extensions.contains(.vnni) ? UInt32(WK_CPU_AVX512VNNI) : 0) | (extensions.contains(.bf16) ? UInt32(WK_CPU_AVX512BF16) : 0)
    }
}

extension Kernels {
    /// The decoder of `type` in this tier: CKernels' for F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
    /// Q5_1 and Q2_K ... Q6_K, WeightFormats' Swift one for the other types (nil for Q8_1,
    /// Q8_K). Every tier decodes to the same bits.
    public func decoder(for type: GGMLType) -> BlockDecodeKernel? {
        if let kernel = blockDecoders[type] {
            return { source, destination, count in kernel(source, destination, count) }
        }
        return DecodeKernels.swiftKernels[type]
    }

    typealias CDecoder = @convention(c) (UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void

    /// The C decoders of this tier, by type.
    var blockDecoders: [GGMLType: CDecoder] {
        let k = c
        return [.f16: k.convert_f16, .bf16: k.convert_bf16,
                .q8_0: k.decode_q8_0, .q4_0: k.decode_q4_0, .q4_1: k.decode_q4_1, .q5_0: k.decode_q5_0,
                .q5_1: k.decode_q5_1, .q2_K: k.decode_q2_k, .q3_K: k.decode_q3_k, .q4_K: k.decode_q4_k,
                .q5_K: k.decode_q5_k, .q6_K: k.decode_q6_k]
    }
}
