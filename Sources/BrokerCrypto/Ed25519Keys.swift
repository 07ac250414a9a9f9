import COpenSSL

/// A runner's Ed25519 public key: the broker verifies the runner's client assertions with it.
public struct Ed25519PublicKey: Sendable, Hashable {
    /// The 32-byte public key (RFC 8032).
    public let rawRepresentation: [UInt8]
    public let jwk: JWK
    public let keyID: String

    public init(rawRepresentation: [UInt8]) throws {
        guard rawRepresentation.count == 32 else { throw CryptoError(.invalidKey, "an Ed25519 public key has 32 bytes") }
        // Let OpenSSL parse it, so nothing unusable is accepted.
        let parsed = rawRepresentation.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key_ex(nil, staticCString("ED25519"), nil, $0.baseAddress, $0.count)
        }
        guard let parsed else { throw openSSLFailure(.invalidKey, "not a valid Ed25519 public key") }
        EVP_PKEY_free(parsed)
        self.rawRepresentation = rawRepresentation
        self.jwk = JWK(kty: "OKP", crv: "Ed25519", x: Base64URL.encode(rawRepresentation))
        self.keyID = try jwk.thumbprint()
    }

    public init(jwk: JWK) throws {
        guard jwk.kty == "OKP", jwk.crv == "Ed25519" else {
            throw CryptoError(.invalidKey, "signing key must be kty OKP with crv Ed25519")
        }
        guard !jwk.hasPrivateMembers else {
            throw CryptoError(.privateKeyNotAllowed, "the signing key is a private JWK; send only the public key")
        }
        guard let x = jwk.x, let raw = Base64URL.decode(x) else { throw CryptoError.malformed("Ed25519 JWK needs base64url x") }
        try self.init(rawRepresentation: raw)
    }
}

/// A runner's Ed25519 private key, used to sign its client assertions.
public struct Ed25519PrivateKey: Sendable {
    let key: OwnedPKey
    public let publicKey: Ed25519PublicKey

    public static func generate() throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(key: generateKey(algorithm: "ED25519"))
    }

    init(key: OwnedPKey) throws {
        guard key.isA("ED25519") else { throw CryptoError(.invalidKey, "not an Ed25519 key") }
        self.key = key
        self.publicKey = try Ed25519PublicKey(rawRepresentation: Self.raw(key, privatePart: false))
    }

    public init(pem: String) throws {
        try self.init(key: readPrivateKeyPEM(Array(pem.utf8)))
    }

    public var keyID: String { publicKey.keyID }

    /// The 32-byte seed, for signing libraries that take raw keys (JWTKit's EdDSA).
    public var rawRepresentation: [UInt8] {
        get throws { try Self.raw(key, privatePart: true) }
    }

    public func pem() throws -> String { try privateKeyPEM(key) }

    private static func raw(_ key: OwnedPKey, privatePart: Bool) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 32)
        var length = 32
        let status = bytes.withUnsafeMutableBufferPointer {
            privatePart ? EVP_PKEY_get_raw_private_key(key.pointer, $0.baseAddress, &length)
                : EVP_PKEY_get_raw_public_key(key.pointer, $0.baseAddress, &length)
        }
        guard status == 1, length == 32 else { throw openSSLFailure(.invalidKey, "cannot read the Ed25519 key") }
        return bytes
    }
}
