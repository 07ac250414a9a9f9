import Foundation
import Testing
@testable import BrokerCrypto

/// RSA and Ed25519 keys: PEM and JWK round trips, key IDs, and every refusal.
@Suite("Keys", .timeLimit(.minutes(2)))
struct KeyTests {
    // MARK: RSA PEM

    @Test("RSA private key PEM is PKCS#8 and round-trips")
    func rsaPrivatePEM() throws {
        let key = try Fixtures.rsa()
        let pem = try key.pem()
        #expect(pem.hasPrefix(PEMArmor.begin(PEMArmor.privateKey) + "\n"))
        #expect(pem.hasSuffix(PEMArmor.end(PEMArmor.privateKey) + "\n"))
        let reloaded = try RSAPrivateKey(pem: pem)
        #expect(reloaded.keyID == key.keyID)
        #expect(try reloaded.pem() == pem)
        #expect(reloaded.publicKey.jwk == key.publicKey.jwk)
    }

    @Test("RSA public key PEM is SubjectPublicKeyInfo and round-trips")
    func rsaPublicPEM() throws {
        let key = try Fixtures.rsa().publicKey
        let pem = try key.pem()
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(pem.hasSuffix("-----END PUBLIC KEY-----\n"))
        let reloaded = try RSAPublicKey(pem: pem)
        #expect(reloaded.keyID == key.keyID)
        #expect(try reloaded.pem() == pem)
        #expect(reloaded.bits == 2048)
    }

    @Test("keyID is stable across PEM and JWK round trips, and distinct between keys")
    func keyIDStable() throws {
        let key = try Fixtures.rsa()
        let other = try Fixtures.otherRSA()
        let viaPEM = try RSAPrivateKey(pem: key.pem()).keyID
        let viaPublicPEM = try RSAPublicKey(pem: key.publicKey.pem()).keyID
        let viaJWK = try RSAPublicKey(jwk: JWK(jsonString: key.publicKey.jwk.jsonString())).keyID
        #expect(Set([key.keyID, key.publicKey.keyID, viaPEM, viaPublicPEM, viaJWK]).count == 1)
        #expect(key.keyID != other.keyID)
        #expect(key.keyID.utf8.count == 43)
        #expect(Base64URL.decode(key.keyID)?.count == 32)
    }

    @Test("RSA generation: default size is 3072 bits; keys under 2048 bits are refused", .timeLimit(.minutes(1)))
    func rsaGenerationSizes() throws {
        #expect(RSAPrivateKey.defaultBits == 3072)
        for bits in [0, 512, 1024, 2047] {
            expectCryptoError(.keyTooSmall, "\(bits) bits") { try RSAPrivateKey.generate(bits: bits) }
        }
        expectCryptoError(.invalidKey) { try RSAPrivateKey.generate(bits: 8193) }
        expectCryptoError(.invalidKey) { try RSAPrivateKey.generate(bits: 16384) }
    }

    // MARK: RSA JWK

    @Test("RSA public JWK round-trips through JSON and imports to the same key")
    func rsaJWKRoundTrip() throws {
        let key = try Fixtures.rsa().publicKey
        let json = key.jwk.jsonString()
        #expect(json == #"{"e":"AQAB","kty":"RSA","n":"\#(key.jwk.n ?? "")"}"#)
        let parsed = try JWK(jsonString: json)
        #expect(parsed == key.jwk)
        let imported = try RSAPublicKey(jwk: parsed)
        #expect(imported.keyID == key.keyID)
        #expect(try imported.pem() == key.pem())
        #expect(imported.jwk == key.jwk)
    }

    @Test("an RSA JWK with private members → privateKeyNotAllowed", arguments: ["d", "p", "q", "dp", "dq", "qi"])
    func rsaPrivateJWK(member: String) throws {
        let key = try Fixtures.rsa().publicKey
        var jwk = key.jwk
        switch member {
        case "d": jwk.d = "AQAB"
        case "p": jwk.p = "AQAB"
        case "q": jwk.q = "AQAB"
        case "dp": jwk.dp = "AQAB"
        case "dq": jwk.dq = "AQAB"
        default: jwk.qi = "AQAB"
        }
        #expect(jwk.hasPrivateMembers)
        expectCryptoError(.privateKeyNotAllowed) { try RSAPublicKey(jwk: jwk) }
        // Also when it arrives as JSON.
        let fromJSON = try JWK(jsonString: jwk.jsonString())
        expectCryptoError(.privateKeyNotAllowed) { try RSAPublicKey(jwk: fromJSON) }
    }

    @Test("an RSA JWK of the wrong kty → invalidKey", arguments: ["EC", "OKP", "oct", "rsa", ""])
    func rsaWrongKty(kty: String) throws {
        var jwk = try Fixtures.rsa().publicKey.jwk
        jwk.kty = kty
        expectCryptoError(.invalidKey) { try RSAPublicKey(jwk: jwk) }
    }

    @Test("an RSA JWK with missing or bad n / e → malformed")
    func rsaBadMembers() throws {
        let n = try #require(Fixtures.rsa().publicKey.jwk.n)
        let modulus = try #require(Base64URL.decode(n))
        for jwk in [
            JWK(kty: "RSA", e: "AQAB"),
            JWK(kty: "RSA", n: n),
            JWK(kty: "RSA", n: n + "=", e: "AQAB"),
            JWK(kty: "RSA", n: n, e: "AQAB=="),
            JWK(kty: "RSA", n: "", e: "AQAB"),
            JWK(kty: "RSA", n: n, e: ""),
            JWK(kty: "RSA", n: Base64URL.encode([0] + modulus), e: "AQAB"),
            JWK(kty: "RSA", n: n, e: "AAEAAQ"),
            JWK(kty: "RSA", n: n, e: Base64URL.encode([UInt8](repeating: 1, count: 9))),
        ] {
            expectCryptoError(.malformed, "\(jwk)") { try RSAPublicKey(jwk: jwk) }
        }
    }

    @Test("an RSA JWK that is not a usable key (even modulus, even or unit exponent) → invalidKey")
    func rsaInvalidNumbers() throws {
        let n = try #require(Fixtures.rsa().publicKey.jwk.n)
        var modulus = try #require(Base64URL.decode(n))
        expectCryptoError(.invalidKey, "e = 1") { try RSAPublicKey(jwk: JWK(kty: "RSA", n: n, e: Base64URL.encode([1]))) }
        expectCryptoError(.invalidKey, "e = 2") { try RSAPublicKey(jwk: JWK(kty: "RSA", n: n, e: Base64URL.encode([2]))) }
        modulus[modulus.count - 1] &= 0xFE
        expectCryptoError(.invalidKey, "even n") { try RSAPublicKey(jwk: JWK(kty: "RSA", n: Base64URL.encode(modulus), e: "AQAB")) }
    }

    @Test("an RSA JWK over 8192 bits → invalidKey")
    func rsaTooLarge() {
        let modulus = [UInt8](repeating: 0xFF, count: 8192 / 8 + 1)
        expectCryptoError(.invalidKey) { try RSAPublicKey(jwk: JWK(kty: "RSA", n: Base64URL.encode(modulus), e: "AQAB")) }
    }

    @Test("a 1024-bit RSA key is refused as PEM and as JWK → keyTooSmall")
    func rsa1024() throws {
        try withTemporaryDirectory { directory in
            try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", directory + "/small.pem"])
            try openssl(["pkey", "-in", directory + "/small.pem", "-pubout", "-out", directory + "/small.pub.pem"])
            let privatePEM = String(decoding: try readFile(directory + "/small.pem"), as: UTF8.self)
            let publicPEM = String(decoding: try readFile(directory + "/small.pub.pem"), as: UTF8.self)
            #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----"))
            expectCryptoError(.keyTooSmall) { try RSAPublicKey(pem: publicPEM) }
            expectCryptoError(.keyTooSmall) { try RSAPrivateKey(pem: privatePEM) }

            let output = try openssl(["rsa", "-pubin", "-in", directory + "/small.pub.pem", "-noout", "-modulus"]).output
            let hex = try #require(output.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            let modulus = try #require([UInt8](hex: hex))
            #expect(modulus.count == 128)
            expectCryptoError(.keyTooSmall) { try RSAPublicKey(jwk: JWK(kty: "RSA", n: Base64URL.encode(modulus), e: "AQAB")) }
        }
    }

    @Test("an encrypted private key PEM → invalidKey, without asking for a passphrase", .timeLimit(.minutes(1)))
    func encryptedPEM() throws {
        try withTemporaryDirectory { directory in
            try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256", "-pass", "pass:x",
                         "-out", directory + "/encrypted.pem"])
            try openssl(["genpkey", "-algorithm", "ED25519", "-aes256", "-pass", "pass:x", "-out", directory + "/encrypted-ed.pem"])
            let rsaPEM = String(decoding: try readFile(directory + "/encrypted.pem"), as: UTF8.self)
            let edPEM = String(decoding: try readFile(directory + "/encrypted-ed.pem"), as: UTF8.self)
            #expect(rsaPEM.hasPrefix(PEMArmor.begin(PEMArmor.encryptedPrivateKey)))
            expectCryptoError(.invalidKey) { try RSAPrivateKey(pem: rsaPEM) }
            expectCryptoError(.invalidKey) { try Ed25519PrivateKey(pem: edPEM) }
            // The same key decrypted by openssl imports fine: what was refused is only the encryption.
            try openssl(["pkey", "-in", directory + "/encrypted.pem", "-passin", "pass:x", "-out", directory + "/plain.pem"])
            let plain = String(decoding: try readFile(directory + "/plain.pem"), as: UTF8.self)
            #expect(try RSAPrivateKey(pem: plain).publicKey.bits == 2048)
        }
    }

    @Test("garbage, empty, truncated and mismatched PEMs → invalidKey")
    func badPEMs() throws {
        let key = try Fixtures.rsa()
        let privatePEM = try key.pem()
        let publicPEM = try key.publicKey.pem()
        for pem in ["", "not a pem", PEMArmor.begin(PEMArmor.privateKey) + "\n" + PEMArmor.end(PEMArmor.privateKey) + "\n",
                    String(privatePEM.prefix(privatePEM.count / 2)), publicPEM] {
            expectCryptoError(.invalidKey) { try RSAPrivateKey(pem: pem) }
        }
        for pem in ["", "not a pem", String(publicPEM.prefix(publicPEM.count / 2)), privatePEM] {
            expectCryptoError(.invalidKey) { try RSAPublicKey(pem: pem) }
        }
    }

    @Test("RSA and Ed25519 keys are not interchangeable → invalidKey")
    func keyTypeMismatch() throws {
        let ed = try Ed25519PrivateKey.generate()
        let rsa = try Fixtures.rsa()
        expectCryptoError(.invalidKey) { try RSAPrivateKey(pem: ed.pem()) }
        expectCryptoError(.invalidKey) { try Ed25519PrivateKey(pem: rsa.pem()) }
        expectCryptoError(.invalidKey) { try Ed25519PublicKey(jwk: rsa.publicKey.jwk) }
        expectCryptoError(.invalidKey) { try RSAPublicKey(jwk: ed.publicKey.jwk) }
    }

    @Test("RSA-OAEP-256: wraps up to 190 bytes for a 2048-bit key, refuses more; unwrap is randomised")
    func oaepLimits() throws {
        let key = try Fixtures.rsa()
        let maximum = SecureRandom.bytes(256 - 2 * 32 - 2)
        #expect(try key.decryptOAEPSHA256(key.publicKey.encryptOAEPSHA256(maximum)) == maximum)
        #expect(throws: CryptoError.self) { try key.publicKey.encryptOAEPSHA256(SecureRandom.bytes(191)) }
        let cek = SecureRandom.bytes(32)
        #expect(try key.publicKey.encryptOAEPSHA256(cek) != key.publicKey.encryptOAEPSHA256(cek))
        expectCryptoError(.decryptionFailed) { try key.decryptOAEPSHA256([]) }
        expectCryptoError(.decryptionFailed) { try key.decryptOAEPSHA256([UInt8](repeating: 0, count: 256)) }
        let other = try Fixtures.otherRSA()
        expectCryptoError(.decryptionFailed) { try other.decryptOAEPSHA256(key.publicKey.encryptOAEPSHA256(cek)) }
    }

    // MARK: Ed25519

    @Test("Ed25519 private key PEM round-trips; its seed is 32 bytes")
    func ed25519PEM() throws {
        let key = try Ed25519PrivateKey.generate()
        let pem = try key.pem()
        #expect(pem.hasPrefix(PEMArmor.begin(PEMArmor.privateKey) + "\n"))
        let reloaded = try Ed25519PrivateKey(pem: pem)
        #expect(reloaded.keyID == key.keyID)
        #expect(reloaded.publicKey == key.publicKey)
        #expect(try reloaded.rawRepresentation == key.rawRepresentation)
        #expect(try key.rawRepresentation.count == 32)
        #expect(try key.rawRepresentation != key.publicKey.rawRepresentation)
        #expect(try Ed25519PrivateKey.generate().keyID != key.keyID)
    }

    @Test("Ed25519 public JWK round-trips through JSON")
    func ed25519JWKRoundTrip() throws {
        let key = try Ed25519PrivateKey.generate().publicKey
        let json = key.jwk.jsonString()
        #expect(json == #"{"crv":"Ed25519","kty":"OKP","x":"\#(Base64URL.encode(key.rawRepresentation))"}"#)
        let imported = try Ed25519PublicKey(jwk: JWK(jsonString: json))
        #expect(imported == key)
        #expect(imported.keyID == key.keyID)
        #expect(imported.keyID == (try key.jwk.thumbprint()))
        #expect(try Ed25519PublicKey(rawRepresentation: key.rawRepresentation) == key)
    }

    @Test("Ed25519 x of the wrong length → invalidKey", arguments: [0, 1, 31, 33, 64])
    func ed25519WrongLength(length: Int) {
        let x = Base64URL.encode([UInt8](repeating: 0x11, count: length))
        expectCryptoError(.invalidKey) { try Ed25519PublicKey(jwk: JWK(kty: "OKP", crv: "Ed25519", x: x)) }
        expectCryptoError(.invalidKey) { try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 0x11, count: length)) }
    }

    @Test("an Ed25519 JWK of the wrong kty or crv → invalidKey", arguments: [("RSA", "Ed25519"), ("OKP", "Ed448"), ("OKP", "X25519"), ("EC", "P-256"), ("OKP", "ed25519")])
    func ed25519WrongType(kty: String, crv: String) throws {
        let x = try Ed25519PrivateKey.generate().publicKey.jwk.x
        expectCryptoError(.invalidKey) { try Ed25519PublicKey(jwk: JWK(kty: kty, crv: crv, x: x)) }
        expectCryptoError(.invalidKey) { try Ed25519PublicKey(jwk: JWK(kty: kty, x: x)) }
    }

    @Test("an Ed25519 JWK with d → privateKeyNotAllowed; missing or bad x → malformed")
    func ed25519BadJWK() throws {
        let key = try Ed25519PrivateKey.generate()
        var jwk = key.publicKey.jwk
        jwk.d = try Base64URL.encode(key.rawRepresentation)
        expectCryptoError(.privateKeyNotAllowed) { try Ed25519PublicKey(jwk: jwk) }
        expectCryptoError(.malformed) { try Ed25519PublicKey(jwk: JWK(kty: "OKP", crv: "Ed25519")) }
        expectCryptoError(.malformed) { try Ed25519PublicKey(jwk: JWK(kty: "OKP", crv: "Ed25519", x: (key.publicKey.jwk.x ?? "") + "=")) }
    }

    // MARK: JWK

    @Test("JWK thumbprint: unsupported kty → invalidKey; missing members or unsafe characters → malformed")
    func thumbprintRefusals() {
        expectCryptoError(.invalidKey) { try JWK(kty: "oct").thumbprint() }
        expectCryptoError(.invalidKey) { try JWK(kty: "EC", crv: "P-256", x: "AA").thumbprint() }
        expectCryptoError(.malformed) { try JWK(kty: "RSA", n: "AQAB").thumbprint() }
        expectCryptoError(.malformed) { try JWK(kty: "OKP", x: "AQAB").thumbprint() }
        expectCryptoError(.malformed) { try JWK(kty: "RSA", n: #"AQ","kty":"x"#, e: "AQAB").thumbprint() }
        expectCryptoError(.malformed) { try JWK(kty: "OKP", crv: "Ed\"25519", x: "AA").thumbprint() }
    }

    @Test("JWK(jsonString:) refuses what is not a JWK → malformed", arguments: ["", "{}", "[]", "null", #"{"n":"AQAB"}"#, #"{"kty":1}"#, "not json"])
    func jwkJSONRefusals(json: String) {
        expectCryptoError(.malformed) { try JWK(jsonString: json) }
    }

    @Test("CryptoError descriptions carry the code and a fixed message")
    func errorDescription() {
        do {
            _ = try RSAPrivateKey.generate(bits: 1024)
            Issue.record("a 1024-bit key was generated")
        } catch let error as CryptoError {
            #expect(error.code == .keyTooSmall)
            #expect(error.description.hasPrefix("keyTooSmall: "))
            #expect(error.code.description == "keyTooSmall")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
