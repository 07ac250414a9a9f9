import COpenSSL

public enum SecureRandom {
    /// Cryptographically secure random bytes from OpenSSL's DRBG.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32(count)) }
        // Without randomness nothing here is safe; stopping beats issuing guessable tokens.
        precondition(status == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }

    /// A random token of `byteCount` bytes, base64url-encoded, with an optional prefix.
    public static func token(bytes byteCount: Int = 32, prefix: String = "") -> String {
        prefix + Base64URL.encode(bytes(byteCount))
    }
}
