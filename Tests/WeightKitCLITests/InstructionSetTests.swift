import Foundation
import Testing
import WeightFormats

/// `WEIGHTKIT_ISA` and the portable build: every tier the processor has gives the reference's
/// greedy tokens; a bad value is a one-line error naming the variable; and the release binary,
/// run under qemu-x86_64 as a Haswell (AVX2) and a Nehalem (x86-64 baseline), gives the tokens
/// of the native run on a float32 and a Q4_K_M model (Fixtures/models/portable/portable.json,
/// Fixtures/generators/portable_models.py: every greedy step there wins by more than 1e-2, so
/// that summation order cannot change a token).
@Suite struct InstructionSetTests {
    struct Case {
        let path: String
        let prompt: String
        let greedy: [Int]
        let minimumMargin: Double
    }

    static func fixture(_ name: String) throws -> Case {
        let record = try CLI.json("models/portable/portable.json")
        let entry = try #require(record[name], "\(name) missing from portable.json")
        let prompt = try #require(entry["prompt"]?.arrayValue?.compactMap { $0.intValue })
        let path = try #require(entry["path"]?.stringValue)
        let greedy = try #require(entry["greedy"]?.arrayValue?.compactMap { $0.intValue })
        let margin = try #require(entry["min_margin"]?.doubleValue)
        return Case(path: CLI.fixture(path), prompt: prompt.map(String.init).joined(separator: ","), greedy: greedy,
                    minimumMargin: margin)
    }

    static func tokens(_ result: CLI.Result) -> [Int]? { result.json?["tokens"]?.arrayValue?.compactMap(\.intValue) }

    @Test("WEIGHTKIT_ISA picks each tier the processor has; the tokens are the reference's", arguments: ["f32", "q4_k_m"])
    func everyTier(model: String) throws {
        let fixture = try Self.fixture(model)
        for tier in Kernels.supportedTiers {
            let result = try CLI.run(["run", fixture.path, "--tokens", fixture.prompt, "--generate", "8", "--ignore-eos", "--json"],
                                     environment: ["WEIGHTKIT_ISA": tier.rawValue])
            #expect(result.status == 0, "\(tier): \(result.stderr)")
            #expect(result.json?["isa"]?.stringValue == tier.rawValue)
            #expect(result.stderr.hasPrefix("isa: \(tier.rawValue)"), "\(result.stderr)")
            #expect(Self.tokens(result) == fixture.greedy, "\(model) \(tier)")
        }
    }

    @Test("a WEIGHTKIT_ISA that is no tier is a one-line error naming it")
    func badValue() throws {
        let fixture = try Self.fixture("f32")
        for value in ["avx3", "AVX2", ""] {
            let result = try CLI.run(["run", fixture.path, "--tokens", "1", "--generate", "1"], environment: ["WEIGHTKIT_ISA": value])
            #expect(result.status == 1)
            #expect(result.stderr.contains("WEIGHTKIT_ISA") && result.stderr.contains("'\(value)'"), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }

    #if arch(x86_64)
    /// `swift build -c release --product weightkit`, which `make test` runs first.
    static let releaseBinary = CLI.root + "/.build/release/weightkit"

    /// qemu-x86_64 on PATH (Debian's qemu-user, which `make deps` installs).
    static let qemu: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { $0 + "/qemu-x86_64" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test("the release binary under qemu-x86_64 -cpu Haswell and -cpu Nehalem: the native run's greedy tokens",
          arguments: ["f32", "q4_k_m"])
    func underEmulation(model: String) throws {
        let fixture = try Self.fixture(model)
        #expect(fixture.minimumMargin > 1e-2, "\(model): a greedy step wins by only \(fixture.minimumMargin)")
        let binary = Self.releaseBinary
        try #require(FileManager.default.isExecutableFile(atPath: binary),
                     "no release binary at \(binary): run `swift build -c release --product weightkit` (make test does)")
        let qemu = try #require(Self.qemu, "qemu-x86_64 is missing: apt-get install qemu-user (make deps installs it)")
        let arguments = ["run", fixture.path, "--tokens", fixture.prompt, "--generate", "8", "--ignore-eos", "--json"]
        let native = try CLI.run(arguments, program: binary)
        #expect(native.status == 0, "\(native.stderr)")
        #expect(native.json?["isa"]?.stringValue == Kernels.best.tier.rawValue)
        #expect(Self.tokens(native) == fixture.greedy, "\(model) native")
        for (cpu, tier) in [("Haswell", "avx2"), ("Nehalem", "scalar")] {
            let emulated = try CLI.run(["-cpu", cpu, binary] + arguments, program: qemu)
            #expect(emulated.status == 0, "\(cpu): \(emulated.stderr)")
            #expect(emulated.json?["isa"]?.stringValue == tier, "\(cpu)")
            #expect(Self.tokens(emulated) == Self.tokens(native), "\(model) under \(cpu)")
        }
        // A tier the emulated processor lacks is refused, naming what is missing.
        let refused = try CLI.run(["-cpu", "Haswell", binary] + arguments, program: qemu, environment: ["WEIGHTKIT_ISA": "avx512"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("AVX512F"), "\(refused.stderr)")
    }
    #endif
}
