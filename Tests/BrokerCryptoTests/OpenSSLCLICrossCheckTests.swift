import Foundation
import Testing
@testable import BrokerCrypto

/// Interoperability with the openssl command-line tool: what Swift wraps, openssl unwraps and
/// the other way round, and a whole JWE opened by hand with the CLI and the raw A256GCM layer.
@Suite("OpenSSL CLI cross-check", .timeLimit(.minutes(2)))
struct OpenSSLCLICrossCheckTests {
    static let oaepSHA256 = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"]

    @Test("a content key wrapped in Swift is unwrapped by openssl pkeyutl (RSA-OAEP-256)")
    func swiftWrapsOpenSSLUnwraps() throws {
        let key = try RSAPrivateKey.generate(bits: 2048)
        let cek = SecureRandom.bytes(32)
        let wrapped = try key.publicKey.encryptOAEPSHA256(cek)
        #expect(wrapped.count == 256)
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/key.pem", Array(try key.pem().utf8), mode: 0o600)
            try writeFile(directory + "/wrapped.bin", wrapped)
            try openssl(["pkeyutl", "-decrypt", "-inkey", directory + "/key.pem"] + Self.oaepSHA256
                + ["-in", directory + "/wrapped.bin", "-out", directory + "/cek.bin"])
            #expect(try readFile(directory + "/cek.bin") == cek)
        }
    }

    @Test("a content key wrapped by openssl pkeyutl with the public PEM is unwrapped in Swift")
    func openSSLWrapsSwiftUnwraps() throws {
        let key = try Fixtures.rsa()
        let cek = SecureRandom.bytes(32)
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/public.pem", Array(try key.publicKey.pem().utf8), mode: 0o644)
            try writeFile(directory + "/cek.bin", cek)
            try openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", directory + "/public.pem"] + Self.oaepSHA256
                + ["-in", directory + "/cek.bin", "-out", directory + "/wrapped.bin"])
            let wrapped = try readFile(directory + "/wrapped.bin")
            #expect(wrapped.count == 256)
            #expect(try key.decryptOAEPSHA256(wrapped) == cek)
        }
    }

    @Test("OAEP with SHA-1 (openssl's default), MGF1-SHA-1 or PKCS#1 v1.5 does not unwrap: the digest is really SHA-256")
    func otherPaddingsRefused() throws {
        let key = try Fixtures.rsa()
        let cek = SecureRandom.bytes(32)
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/public.pem", Array(try key.publicKey.pem().utf8), mode: 0o644)
            try writeFile(directory + "/cek.bin", cek)
            for options in [["-pkeyopt", "rsa_padding_mode:oaep"], ["-pkeyopt", "rsa_padding_mode:pkcs1"],
                            ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha1"]] {
                try openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", directory + "/public.pem"] + options
                    + ["-in", directory + "/cek.bin", "-out", directory + "/wrapped.bin"])
                let wrapped = try readFile(directory + "/wrapped.bin")
                expectCryptoError(.decryptionFailed, "\(options)") { try key.decryptOAEPSHA256(wrapped) }
            }
        }
    }

    @Test("a JWE from JWE.seal opens with the openssl CLI plus plain AES-256-GCM: it is standard RFC 7516")
    func jweIsStandard() throws {
        let key = try RSAPrivateKey.generate(bits: 2048)
        let plaintext = Array("glpat-xxxxxxxxxxxxxxxxxxxx and some more text".utf8)
        let compact = try JWE.seal(plaintext, to: key.publicKey)
        let segments = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(segments.count == 5)
        let header = try #require(Base64URL.decode(segments[0]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(header)) as? [String: String])
        #expect(object == ["alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": key.keyID])
        let wrapped = try #require(Base64URL.decode(segments[1]))
        let iv = try #require(Base64URL.decode(segments[2]))
        let ciphertext = try #require(Base64URL.decode(segments[3]))
        let tag = try #require(Base64URL.decode(segments[4]))
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/key.pem", Array(try key.pem().utf8), mode: 0o600)
            try writeFile(directory + "/wrapped.bin", wrapped)
            try openssl(["pkeyutl", "-decrypt", "-inkey", directory + "/key.pem"] + Self.oaepSHA256
                + ["-in", directory + "/wrapped.bin", "-out", directory + "/cek.bin"])
            let cek = try readFile(directory + "/cek.bin")
            #expect(cek.count == 32)
            let opened = try AES256GCM.open(.init(ciphertext: ciphertext, tag: tag), key: cek, iv: iv, aad: Array(segments[0].utf8))
            #expect(opened == plaintext)
        }
    }

    @Test("Swift's PKCS#8 private PEM and SPKI public PEM agree with openssl's view of the key")
    func pemAgreesWithOpenSSL() throws {
        let key = try Fixtures.rsa()
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/key.pem", Array(try key.pem().utf8), mode: 0o600)
            let publicPEM = try openssl(["pkey", "-in", directory + "/key.pem", "-pubout"]).output
            #expect(publicPEM == (try key.publicKey.pem()))
            let check = try openssl(["pkey", "-in", directory + "/key.pem", "-check", "-noout"], allowFailure: true)
            #expect(check.status == 0, "openssl pkey -check: \(check.error)")
        }
    }

    @Test("the keyID is the RFC 7638 thumbprint of the modulus openssl reports")
    func thumbprintFromOpenSSLModulus() throws {
        let key = try Fixtures.rsa()
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/public.pem", Array(try key.publicKey.pem().utf8), mode: 0o644)
            let output = try openssl(["rsa", "-pubin", "-in", directory + "/public.pem", "-noout", "-modulus"]).output
            let hex = try #require(output.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            let modulus = try #require([UInt8](hex: hex))
            #expect(modulus.count == 256)
            #expect(key.publicKey.jwk.n == Base64URL.encode(modulus))
            #expect(key.publicKey.jwk.e == "AQAB")
            let canonical = #"{"e":"AQAB","kty":"RSA","n":"\#(Base64URL.encode(modulus))"}"#
            #expect(key.keyID == Base64URL.encode(SHA256.hash(Array(canonical.utf8))))
        }
    }

    @Test("a key generated by openssl genpkey imports in Swift and round-trips a JWE")
    func openSSLGeneratedKey() throws {
        try withTemporaryDirectory { directory in
            try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", directory + "/key.pem"])
            try openssl(["pkey", "-in", directory + "/key.pem", "-pubout", "-out", directory + "/public.pem"])
            let privateKey = try RSAPrivateKey(pem: String(decoding: readFile(directory + "/key.pem"), as: UTF8.self))
            let publicKey = try RSAPublicKey(pem: String(decoding: readFile(directory + "/public.pem"), as: UTF8.self))
            #expect(privateKey.keyID == publicKey.keyID)
            #expect(try JWE.openString(JWE.seal("from openssl", to: publicKey), with: privateKey) == "from openssl")
        }
    }

    @Test("an Ed25519 key's raw public key matches openssl's")
    func ed25519AgreesWithOpenSSL() throws {
        let key = try Ed25519PrivateKey.generate()
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/ed.pem", Array(try key.pem().utf8), mode: 0o600)
            try openssl(["pkey", "-in", directory + "/ed.pem", "-pubout", "-outform", "DER", "-out", directory + "/ed.der"])
            let der = try readFile(directory + "/ed.der")
            // SPKI for Ed25519: a fixed 12-byte prefix, then the 32-byte key.
            #expect(der.count == 44)
            #expect(Array(der.prefix(12)) == [UInt8](hex: "302a300506032b6570032100"))
            #expect(Array(der.suffix(32)) == key.publicKey.rawRepresentation)
        }
    }
}
