import Testing
import WeightConversion
import WeightFormats

/// `Verification` against NumPy's NaN/Inf counts and hashlib's SHA-256 of the same tensors
/// (Fixtures/generators/conversion.py, verify.json).
@Suite struct VerificationTests {
    @Test func countsNonFiniteValues() throws {
        let expected = try Fixture.json("conversion/verify.json")["nonfinite"]!.objectValue!
        let checks = try Verification.verify(Fixture.path("conversion/nonfinite.safetensors"), hashes: false)
        #expect(checks.count == expected.count)
        for check in checks {
            #expect(check.nanCount == expected[check.name]?["nan"]?.intValue, "\(check.name) NaNs")
            #expect(check.infinityCount == expected[check.name]?["inf"]?.intValue, "\(check.name) infinities")
        }
    }

    @Test func hashesMatchHashlib() throws {
        let expected = try Fixture.json("conversion/verify.json")["sha256"]!.objectValue!
        for (file, hashes) in expected {
            let checks = try Verification.verify(Fixture.path(file), hashes: true)
            #expect(checks.count == hashes.objectValue!.count)
            for check in checks { #expect(check.sha256 == hashes[check.name]?.stringValue, "\(file): \(check.name)") }
        }
    }
}
