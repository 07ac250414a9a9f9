import Crypto

/// SHA-256 for PKCE S256 checks and deterministic ids, from swift-crypto (the fake may not
/// depend on the project's own crypto target, which it is there to test against).
enum Digest {
    static func sha256(_ message: some Collection<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(message)))
    }
}
