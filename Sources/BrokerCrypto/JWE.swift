import COpenSSL
import Foundation

/// JWE compact serialization (RFC 7516) with exactly one algorithm pair:
/// `alg: RSA-OAEP-256` (key wrap) and `enc: A256GCM` (content), `kid` naming the recipient.
///
/// Opening is deliberately narrow: anything that is not precisely this shape is refused with a
/// typed error before any private-key operation, and every segment is authenticated.
public enum JWE {
    public static let algorithm = "RSA-OAEP-256"
    public static let encryption = "A256GCM"
    /// Secrets are small (tokens, client secrets); a bound stops abuse of the parser.
    public static let maximumCompactLength = 64 * 1024
    public static let maximumPlaintextLength = 32 * 1024

    public struct Header: Codable, Equatable, Sendable {
        public var alg: String
        public var enc: String
        public var kid: String
    }

    /// Seals `plaintext` to `recipient`, with a fresh content key and IV.
    public static func seal(_ plaintext: [UInt8], to recipient: RSAPublicKey) throws -> String {
        guard plaintext.count <= maximumPlaintextLength else {
            throw CryptoError(.inputTooLarge, "plaintext over \(maximumPlaintextLength) bytes")
        }
        let header = Base64URL.encode(Array(#"{"alg":"\#(algorithm)","enc":"\#(encryption)","kid":"\#(recipient.keyID)"}"#.utf8))
        var contentKey = SecureRandom.bytes(AES256GCM.keyLength)
        defer { wipe(&contentKey) }
        let iv = SecureRandom.bytes(AES256GCM.ivLength)
        let wrappedKey = try recipient.encryptOAEPSHA256(contentKey)
        // The AAD is the ASCII of the encoded protected header (RFC 7516 §5.1 step 14).
        let sealed = try AES256GCM.seal(plaintext, key: contentKey, iv: iv, aad: Array(header.utf8))
        return [header, Base64URL.encode(wrappedKey), Base64URL.encode(iv),
                Base64URL.encode(sealed.ciphertext), Base64URL.encode(sealed.tag)].joined(separator: ".")
    }

    public static func seal(_ plaintext: String, to recipient: RSAPublicKey) throws -> String {
        try seal(Array(plaintext.utf8), to: recipient)
    }

    /// The protected header, checked for shape but not authenticated: for routing only.
    public static func header(of compact: String) throws -> Header {
        try parse(compact).header
    }

    /// Opens a JWE sealed to `key`.
    public static func open(_ compact: String, with key: RSAPrivateKey) throws -> [UInt8] {
        let parts = try parse(compact)
        guard parts.header.kid == key.keyID else {
            throw CryptoError(.keyMismatch, "the message is sealed to another key")
        }
        guard parts.wrappedKey.count == (key.publicKey.bits + 7) / 8 else {
            throw CryptoError.malformed("the encrypted key does not match the key size")
        }
        var contentKey = try key.decryptOAEPSHA256(parts.wrappedKey)
        defer { wipe(&contentKey) }
        guard contentKey.count == AES256GCM.keyLength else {
            throw CryptoError(.decryptionFailed, "cannot unwrap the content key")
        }
        return try AES256GCM.open(.init(ciphertext: parts.ciphertext, tag: parts.tag),
                                  key: contentKey, iv: parts.iv, aad: Array(parts.encodedHeader.utf8))
    }

    public static func openString(_ compact: String, with key: RSAPrivateKey) throws -> String {
        let bytes = try open(compact, with: key)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CryptoError.malformed("the sealed value is not UTF-8 text")
        }
        return text
    }

    private struct Parts {
        var encodedHeader: Substring
        var header: Header
        var wrappedKey: [UInt8]
        var iv: [UInt8]
        var ciphertext: [UInt8]
        var tag: [UInt8]
    }

    private static func parse(_ compact: String) throws -> Parts {
        guard compact.utf8.count <= maximumCompactLength else {
            throw CryptoError(.inputTooLarge, "JWE over \(maximumCompactLength) bytes")
        }
        let segments = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 5 else { throw CryptoError.malformed("a compact JWE has five segments") }
        guard let headerBytes = Base64URL.decode(segments[0]),
              let wrappedKey = Base64URL.decode(segments[1]),
              let iv = Base64URL.decode(segments[2]),
              let ciphertext = Base64URL.decode(segments[3]),
              let tag = Base64URL.decode(segments[4])
        else { throw CryptoError.malformed("a JWE segment is not base64url") }
        let header = try checkedHeader(headerBytes)
        guard !wrappedKey.isEmpty else { throw CryptoError.malformed("RSA-OAEP-256 needs an encrypted key") }
        guard iv.count == AES256GCM.ivLength else { throw CryptoError.malformed("an A256GCM IV has 12 bytes") }
        guard tag.count == AES256GCM.tagLength else { throw CryptoError.malformed("an A256GCM tag has 16 bytes") }
        return Parts(encodedHeader: segments[0], header: header, wrappedKey: wrappedKey, iv: iv, ciphertext: ciphertext, tag: tag)
    }

    private static func checkedHeader(_ bytes: [UInt8]) throws -> Header {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CryptoError.malformed("the JWE header is not a JSON object")
        }
        guard let alg = object["alg"] as? String else { throw CryptoError.malformed("the JWE header has no alg") }
        guard alg == algorithm else { throw CryptoError(.unsupportedAlgorithm, "only \(algorithm) is accepted") }
        guard let enc = object["enc"] as? String else { throw CryptoError.malformed("the JWE header has no enc") }
        guard enc == encryption else { throw CryptoError(.unsupportedEncryption, "only \(encryption) is accepted") }
        // We implement neither compression nor critical extensions, so we must refuse them.
        for name in ["zip", "crit", "jku", "jwk", "x5u", "x5c"] where object[name] != nil {
            throw CryptoError(.unsupportedHeader, "the JWE header parameter \(name) is not supported")
        }
        guard let kid = object["kid"] as? String, !kid.isEmpty else {
            throw CryptoError.malformed("the JWE header has no kid")
        }
        return Header(alg: alg, enc: enc, kid: kid)
    }
}

/// Overwrites key material; OPENSSL_cleanse is not optimised away as a plain loop may be.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}
