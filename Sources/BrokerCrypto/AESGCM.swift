import COpenSSL

/// AES-256-GCM with a 96-bit IV and 128-bit tag (JWA "A256GCM").
public enum AES256GCM {
    public static let keyLength = 32
    public static let ivLength = 12
    public static let tagLength = 16

    public struct Sealed: Sendable, Equatable {
        public var ciphertext: [UInt8]
        public var tag: [UInt8]
    }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], iv: [UInt8], aad: [UInt8]) throws -> Sealed {
        try checkSizes(key: key, iv: iv)
        let context = try CipherContext()
        // Passed as read-only pointers: no extra copy of the key is made (and left unwiped).
        guard EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              scm_aes_gcm_set_iv_length(context.pointer, Int32(ivLength)) == 1,
              EVP_EncryptInit_ex(context.pointer, nil, nil, key, iv) == 1
        else { throw openSSLFailure(.openSSL, "cannot set up AES-256-GCM") }
        try update(context, aad, output: false, encrypt: true)
        var ciphertext = try update(context, plaintext, output: true, encrypt: true)
        var finalLength: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptFinal_ex(context.pointer, &final, &finalLength) == 1 else {
            throw openSSLFailure(.openSSL, "AES-256-GCM failed")
        }
        ciphertext += final.prefix(Int(finalLength))
        var tag = [UInt8](repeating: 0, count: tagLength)
        guard scm_aes_gcm_get_tag(context.pointer, Int32(tagLength), &tag) == 1 else {
            throw openSSLFailure(.openSSL, "AES-256-GCM failed")
        }
        return Sealed(ciphertext: ciphertext, tag: tag)
    }

    public static func open(_ sealed: Sealed, key: [UInt8], iv: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        try checkSizes(key: key, iv: iv)
        guard sealed.tag.count == tagLength else { throw CryptoError.malformed("an A256GCM tag has 16 bytes") }
        let context = try CipherContext()
        var tag = sealed.tag
        guard EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              scm_aes_gcm_set_iv_length(context.pointer, Int32(ivLength)) == 1,
              EVP_DecryptInit_ex(context.pointer, nil, nil, key, iv) == 1
        else { throw openSSLFailure(.openSSL, "cannot set up AES-256-GCM") }
        try update(context, aad, output: false, encrypt: false)
        var plaintext = try update(context, sealed.ciphertext, output: true, encrypt: false)
        guard scm_aes_gcm_set_tag(context.pointer, Int32(tagLength), &tag) == 1 else {
            throw openSSLFailure(.openSSL, "AES-256-GCM failed")
        }
        var finalLength: Int32 = 0
        var final = [UInt8](repeating: 0, count: 16)
        guard EVP_DecryptFinal_ex(context.pointer, &final, &finalLength) == 1 else {
            // Wipe what was decrypted before authentication failed.
            plaintext.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
            throw openSSLFailure(.decryptionFailed, "authentication failed: the message was altered or is not for this key")
        }
        return plaintext + final.prefix(Int(finalLength))
    }

    private static func checkSizes(key: [UInt8], iv: [UInt8]) throws {
        guard key.count == keyLength else { throw CryptoError(.invalidKey, "an A256GCM key has 32 bytes") }
        guard iv.count == ivLength else { throw CryptoError.malformed("an A256GCM IV has 12 bytes") }
    }

    @discardableResult
    private static func update(_ context: CipherContext, _ input: [UInt8], output: Bool, encrypt: Bool) throws -> [UInt8] {
        guard !input.isEmpty else { return [] }
        guard input.count < Int(Int32.max) else { throw CryptoError(.inputTooLarge, "input too large") }
        var out = [UInt8](repeating: 0, count: output ? input.count + 16 : 0)
        var outLength: Int32 = 0
        let status = input.withUnsafeBufferPointer { inBuffer in
            out.withUnsafeMutableBufferPointer { outBuffer in
                encrypt
                    ? EVP_EncryptUpdate(context.pointer, output ? outBuffer.baseAddress : nil, &outLength, inBuffer.baseAddress, Int32(inBuffer.count))
                    : EVP_DecryptUpdate(context.pointer, output ? outBuffer.baseAddress : nil, &outLength, inBuffer.baseAddress, Int32(inBuffer.count))
            }
        }
        defer { if !encrypt { wipe(&out) } }  // decrypted bytes: only the returned copy survives
        guard status == 1 else { throw openSSLFailure(.openSSL, "AES-256-GCM failed") }
        return output ? Array(out.prefix(Int(outLength))) : []
    }
}

private final class CipherContext {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw openSSLFailure(.openSSL, "out of memory") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }
}
