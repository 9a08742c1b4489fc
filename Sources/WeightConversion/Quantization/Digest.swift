import CKernels

/// SHA-256 of bytes, as lower-case hex (tensor digests in dry-run and test output).
public enum Digest {
    public static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var context = wk_sha256()
        wk_sha256_init(&context)
        wk_sha256_update(&context, bytes.baseAddress, bytes.count)
        var digest = [UInt8](repeating: 0, count: 32)
        wk_sha256_final(&context, &digest)
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { sha256Hex($0) } }
}
