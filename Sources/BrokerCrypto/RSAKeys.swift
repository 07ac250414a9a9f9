import COpenSSL

/// The smallest RSA modulus the broker seals to (NIST SP 800-57: 112-bit security).
public let minimumRSABits = 2048
/// Larger keys only cost time; refuse absurd sizes that would make every seal a DoS.
public let maximumRSABits = 8192

/// A runner's RSA public key: the broker seals secrets to it.
public struct RSAPublicKey: Sendable {
    let key: OwnedPKey
    public let jwk: JWK
    /// RFC 7638 thumbprint; the `kid` of everything sealed to this key.
    public let keyID: String

    init(key: OwnedPKey) throws {
        guard key.isA("RSA") else { throw CryptoError(.invalidKey, "not an RSA key") }
        guard key.bits >= minimumRSABits else {
            throw CryptoError(.keyTooSmall, "RSA keys must have at least \(minimumRSABits) bits")
        }
        guard key.bits <= maximumRSABits else {
            throw CryptoError(.invalidKey, "RSA keys may have at most \(maximumRSABits) bits")
        }
        try Self.checkPublic(key)
        let n = try Self.bigNumber(key, "n")
        let e = try Self.bigNumber(key, "e")
        let jwk = JWK(kty: "RSA", n: Base64URL.encode(n), e: Base64URL.encode(e))
        self.key = key
        self.keyID = try jwk.thumbprint()
        self.jwk = jwk
    }

    /// Imports a public RSA JWK. Private JWKs are refused: a runner never hands over `d`.
    public init(jwk: JWK) throws {
        guard jwk.kty == "RSA" else { throw CryptoError(.invalidKey, "encryption key must have kty RSA") }
        guard !jwk.hasPrivateMembers else {
            throw CryptoError(.privateKeyNotAllowed, "the encryption key is a private JWK; send only the public key")
        }
        guard let nText = jwk.n, let eText = jwk.e, let n = Base64URL.decode(nText), let e = Base64URL.decode(eText),
              let first = n.first, first != 0, let eFirst = e.first, eFirst != 0, e.count <= 8
        else {
            throw CryptoError.malformed("RSA JWK needs base64url n and e without leading zeros")
        }
        guard n.count * 8 <= maximumRSABits else {
            throw CryptoError(.invalidKey, "RSA keys may have at most \(maximumRSABits) bits")
        }
        try self.init(key: Self.publicKey(n: n, e: e))
    }

    public init(pem: String) throws {
        try self.init(key: readPublicKeyPEM(Array(pem.utf8)))
    }

    public var bits: Int { key.bits }

    public func pem() throws -> String { try publicKeyPEM(key) }

    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (JWA "RSA-OAEP-256").
    public func encryptOAEPSHA256(_ plaintext: [UInt8]) throws -> [UInt8] {
        try rsaOAEP(key, plaintext, encrypt: true)
    }

    private static func bigNumber(_ key: OwnedPKey, _ name: StaticString) throws -> [UInt8] {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key.pointer, staticCString(name), &number) == 1, let number else {
            throw openSSLFailure(.invalidKey, "cannot read RSA parameter")
        }
        defer { BN_free(number) }
        var bytes = [UInt8](repeating: 0, count: (Int(BN_num_bits(number)) + 7) / 8)
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(number, $0.baseAddress) }
        return bytes
    }

    private static func publicKey(n: [UInt8], e: [UInt8]) throws -> OwnedPKey {
        guard let builder = OSSL_PARAM_BLD_new() else { throw openSSLFailure(.openSSL, "out of memory") }
        defer { OSSL_PARAM_BLD_free(builder) }
        let modulus = n.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let exponent = e.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        defer {
            BN_free(modulus)
            BN_free(exponent)
        }
        guard let modulus, let exponent,
              OSSL_PARAM_BLD_push_BN(builder, staticCString("n"), modulus) == 1,
              OSSL_PARAM_BLD_push_BN(builder, staticCString("e"), exponent) == 1,
              let params = OSSL_PARAM_BLD_to_param(builder)
        else { throw openSSLFailure(.invalidKey, "cannot build an RSA key from n and e") }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, staticCString("RSA"), nil) else {
            throw openSSLFailure(.openSSL, "RSA is not available")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, scm_evp_pkey_public_key_selection(), params) == 1,
              let key
        else { throw openSSLFailure(.invalidKey, "not a valid RSA public key") }
        return OwnedPKey(taking: key)
    }

    /// Every RSA key passes here, whatever it came from (JWK, PEM, generation): checks what a
    /// hostile key could get wrong (e odd and > 1, n odd and without small factors).
    private static func checkPublic(_ key: OwnedPKey) throws {
        guard let check = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
            throw openSSLFailure(.openSSL, "out of memory")
        }
        defer { EVP_PKEY_CTX_free(check) }
        guard EVP_PKEY_public_check(check) == 1 else {
            throw openSSLFailure(.invalidKey, "not a valid RSA public key")
        }
    }
}

/// A runner's RSA private key. It lives only on the runner, in a 0600 file.
public struct RSAPrivateKey: Sendable {
    let key: OwnedPKey
    public let publicKey: RSAPublicKey

    public static let defaultBits = 3072

    public static func generate(bits: Int = defaultBits) throws -> RSAPrivateKey {
        guard bits >= minimumRSABits else {
            throw CryptoError(.keyTooSmall, "RSA keys must have at least \(minimumRSABits) bits")
        }
        guard bits <= maximumRSABits else {
            throw CryptoError(.invalidKey, "RSA keys may have at most \(maximumRSABits) bits")
        }
        let key = try generateKey(algorithm: "RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, Int32(bits)) }
        return try RSAPrivateKey(key: key)
    }

    init(key: OwnedPKey) throws {
        self.key = key
        self.publicKey = try RSAPublicKey(key: key)
    }

    public init(pem: String) throws {
        try self.init(key: readPrivateKeyPEM(Array(pem.utf8)))
    }

    public var keyID: String { publicKey.keyID }

    /// PKCS#8 PEM.
    public func pem() throws -> String { try privateKeyPEM(key) }

    public func decryptOAEPSHA256(_ ciphertext: [UInt8]) throws -> [UInt8] {
        try rsaOAEP(key, ciphertext, encrypt: false)
    }
}

private func rsaOAEP(_ key: OwnedPKey, _ input: [UInt8], encrypt: Bool) throws -> [UInt8] {
    guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else {
        throw openSSLFailure(.openSSL, "out of memory")
    }
    defer { EVP_PKEY_CTX_free(context) }
    let initialised = encrypt ? EVP_PKEY_encrypt_init(context) : EVP_PKEY_decrypt_init(context)
    guard initialised == 1,
          EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) == 1,
          EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) == 1,
          EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) == 1
    else { throw openSSLFailure(.openSSL, "cannot set up RSA-OAEP-256") }

    let operation = encrypt ? EVP_PKEY_encrypt : EVP_PKEY_decrypt
    var length = 0
    let sized = input.withUnsafeBufferPointer { operation(context, nil, &length, $0.baseAddress, $0.count) }
    guard sized == 1 else {
        throw openSSLFailure(encrypt ? .openSSL : .decryptionFailed, encrypt ? "RSA-OAEP-256 failed" : "cannot unwrap the content key")
    }
    var output = [UInt8](repeating: 0, count: length)
    // On decrypt this buffer holds a content key: only the returned copy survives.
    defer { if !encrypt { wipe(&output) } }
    let status = input.withUnsafeBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer in
            operation(context, outBuffer.baseAddress, &length, inBuffer.baseAddress, inBuffer.count)
        }
    }
    guard status == 1 else {
        throw openSSLFailure(encrypt ? .openSSL : .decryptionFailed, encrypt ? "RSA-OAEP-256 failed" : "cannot unwrap the content key")
    }
    return Array(output.prefix(length))
}
