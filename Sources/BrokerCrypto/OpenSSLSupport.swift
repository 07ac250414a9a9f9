import COpenSSL

/// Clears OpenSSL's thread-local error queue and returns a typed error. OpenSSL's own
/// messages are deliberately dropped: they can quote input (such as PEM lines).
func openSSLFailure(_ code: CryptoError.Code = .openSSL, _ message: String) -> CryptoError {
    ERR_clear_error()
    return CryptoError(code, message)
}

/// A C string with static storage. OpenSSL keeps some name pointers beyond the call that
/// receives them (OSSL_PARAM_BLD_push_* until to_param, EVP_PKEY_CTX's key type), so names
/// must never be Swift's temporary bridged C strings.
func staticCString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// An owned EVP_PKEY, freed with its owner. OpenSSL 3 keys are immutable once built and
/// safe to use from several threads at once.
final class OwnedPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    func isA(_ name: String) -> Bool {
        EVP_PKEY_is_a(pointer, name) == 1
    }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }
}

/// Runs `body` with a memory BIO and frees it afterwards.
func withMemoryBIO<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
    guard let bio = BIO_new(BIO_s_mem()) else { throw openSSLFailure(.openSSL, "cannot allocate a memory BIO") }
    defer { BIO_free(bio) }
    return try body(bio)
}

/// Runs `body` with a read-only BIO over `bytes`.
func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
    try bytes.withUnsafeBytes { raw in
        guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
            throw openSSLFailure(.openSSL, "cannot allocate a memory BIO")
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

func memoryBIOContents(_ bio: OpaquePointer) -> [UInt8] {
    var data: UnsafeMutablePointer<CChar>?
    let length = scm_bio_get_mem_data(bio, &data)
    guard let data, length > 0 else { return [] }
    return data.withMemoryRebound(to: UInt8.self, capacity: length) {
        Array(UnsafeBufferPointer(start: $0, count: length))
    }
}

func generateKey(algorithm: StaticString, configure: (OpaquePointer) -> Int32 = { _ in 1 }) throws -> OwnedPKey {
    guard let context = EVP_PKEY_CTX_new_from_name(nil, staticCString(algorithm), nil) else {
        throw openSSLFailure(.openSSL, "\(algorithm) key generation is not available")
    }
    defer { EVP_PKEY_CTX_free(context) }
    guard EVP_PKEY_keygen_init(context) == 1, configure(context) == 1 else {
        throw openSSLFailure(.openSSL, "cannot set up \(algorithm) key generation")
    }
    var key: OpaquePointer?
    guard EVP_PKEY_generate(context, &key) == 1, let key else {
        throw openSSLFailure(.openSSL, "\(algorithm) key generation failed")
    }
    return OwnedPKey(taking: key)
}

func readPrivateKeyPEM(_ pem: [UInt8]) throws -> OwnedPKey {
    try withReadBIO(pem) { bio in
        guard let key = PEM_read_bio_PrivateKey(bio, nil, scm_pem_no_passphrase_callback(), nil) else {
            throw openSSLFailure(.invalidKey, "not an unencrypted PEM private key")
        }
        return OwnedPKey(taking: key)
    }
}

func readPublicKeyPEM(_ pem: [UInt8]) throws -> OwnedPKey {
    try withReadBIO(pem) { bio in
        guard let key = PEM_read_bio_PUBKEY(bio, nil, scm_pem_no_passphrase_callback(), nil) else {
            throw openSSLFailure(.invalidKey, "not a PEM public key (SubjectPublicKeyInfo)")
        }
        return OwnedPKey(taking: key)
    }
}

func privateKeyPEM(_ key: OwnedPKey) throws -> String {
    try withMemoryBIO { bio in
        // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: the file's mode protects it.
        guard PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) == 1 else {
            throw openSSLFailure(.openSSL, "cannot encode the private key")
        }
        return String(decoding: memoryBIOContents(bio), as: UTF8.self)
    }
}

func publicKeyPEM(_ key: OwnedPKey) throws -> String {
    try withMemoryBIO { bio in
        guard PEM_write_bio_PUBKEY(bio, key.pointer) == 1 else {
            throw openSSLFailure(.openSSL, "cannot encode the public key")
        }
        return String(decoding: memoryBIOContents(bio), as: UTF8.self)
    }
}
