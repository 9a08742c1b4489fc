import Testing
import WeightConversion
import WeightFormats

/// `Verification` against NumPy's NaN/Inf counts and hashlib's SHA-256 of the same tensors
/// (Fixtures/generators/conversion.py, verify.json).
@Suite struct VerificationTests {
    @Test(arguments: Kernels.allSupported)
    func countsNonFiniteValues(kernels: Kernels) throws {
        let expected = try Fixture.json("conversion/verify.json")["nonfinite"]!.objectValue!
        let checks = try Verification.verify(Fixture.path("conversion/nonfinite.safetensors"), hashes: false, kernels: kernels)
        #expect(checks.count == expected.count)
        for check in checks {
            #expect(check.nanCount == expected[check.name]?["nan"]?.intValue, "\(check.name) NaNs")
            #expect(check.infinityCount == expected[check.name]?["inf"]?.intValue, "\(check.name) infinities")
        }
    }

    @Test(arguments: Kernels.allSupported)
    func hashesMatchHashlib(kernels: Kernels) throws {
        let expected = try Fixture.json("conversion/verify.json")["sha256"]!.objectValue!
        for (file, hashes) in expected {
            let checks = try Verification.verify(Fixture.path(file), hashes: true, kernels: kernels)
            #expect(checks.count == hashes.objectValue!.count)
            for check in checks { #expect(check.sha256 == hashes[check.name]?.stringValue, "\(file): \(check.name)") }
        }
    }
}
