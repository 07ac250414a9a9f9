import Foundation
import Testing
@testable import BrokerCrypto

/// JWE.seal / open: round trips, freshness and the exact shape of what is sealed.
@Suite("JWE sealing and opening")
struct JWETests {
    @Test("round trip", arguments: [
        [UInt8](),
        Array("x".utf8),
        Array("ghp_16C7e42F292c6912E7710c838347Ae178B4a".utf8),
        [UInt8](0...255),
    ])
    func roundTrip(plaintext: [UInt8]) throws {
        let key = try Fixtures.rsa()
        let compact = try JWE.seal(plaintext, to: key.publicKey)
        #expect(try JWE.open(compact, with: key) == plaintext)
    }

    @Test("round trip of the largest plaintext (32 KiB)")
    func roundTripMaximum() throws {
        let key = try Fixtures.rsa()
        let plaintext = SecureRandom.bytes(JWE.maximumPlaintextLength)
        #expect(plaintext.count == 32 * 1024)
        let compact = try JWE.seal(plaintext, to: key.publicKey)
        #expect(compact.utf8.count <= JWE.maximumCompactLength)
        #expect(try JWE.open(compact, with: key) == plaintext)
    }

    @Test("a plaintext over 32 KiB is refused when sealing")
    func sealTooLarge() throws {
        let key = try Fixtures.rsa()
        expectCryptoError(.inputTooLarge) { try JWE.seal([UInt8](repeating: 0x41, count: JWE.maximumPlaintextLength + 1), to: key.publicKey) }
    }

    @Test("string round trip, including non-ASCII text")
    func stringRoundTrip() throws {
        let key = try Fixtures.rsa()
        for text in ["", "secret", "pässwörd 🔑 秘密"] {
            let compact = try JWE.seal(text, to: key.publicKey)
            #expect(try JWE.openString(compact, with: key) == text)
        }
    }

    @Test("openString refuses a plaintext that is not UTF-8")
    func openStringRefusesNonUTF8() throws {
        let key = try Fixtures.rsa()
        let compact = try JWE.seal([0xFF, 0xFE, 0x80], to: key.publicKey)
        #expect(try JWE.open(compact, with: key) == [0xFF, 0xFE, 0x80])
        expectCryptoError(.malformed) { try JWE.openString(compact, with: key) }
    }

    @Test("two seals of the same plaintext differ: fresh content key and IV")
    func sealsAreFresh() throws {
        let key = try Fixtures.rsa()
        let first = try JWE.seal("same", to: key.publicKey).split(separator: ".", omittingEmptySubsequences: false)
        let second = try JWE.seal("same", to: key.publicKey).split(separator: ".", omittingEmptySubsequences: false)
        #expect(first.count == 5 && second.count == 5)
        #expect(first[0] == second[0], "the header depends only on the recipient")
        #expect(first[1] != second[1], "encrypted key")
        #expect(first[2] != second[2], "IV")
        #expect(first[3] != second[3], "ciphertext")
        #expect(first[4] != second[4], "tag")
    }

    @Test("the protected header is exactly alg, enc and the recipient's thumbprint as kid")
    func headerShape() throws {
        let key = try Fixtures.rsa()
        let compact = try JWE.seal("value", to: key.publicKey)
        let encodedHeader = try #require(compact.split(separator: ".").first)
        let header = try #require(Base64URL.decode(encodedHeader))
        #expect(String(decoding: header, as: UTF8.self)
            == #"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"\#(key.keyID)"}"#)
        #expect(key.keyID == (try key.publicKey.jwk.thumbprint()))
        #expect(try JWE.header(of: compact) == JWE.Header(alg: "RSA-OAEP-256", enc: "A256GCM", kid: key.keyID))
    }

    @Test("segment sizes: RSA-2048 encrypted key, 96-bit IV, ciphertext as long as plaintext, 128-bit tag")
    func segmentSizes() throws {
        let key = try Fixtures.rsa()
        let plaintext = Array("twenty-three bytes long".utf8)
        let segments = try JWE.seal(plaintext, to: key.publicKey).split(separator: ".", omittingEmptySubsequences: false)
        #expect(segments.count == 5)
        #expect(Base64URL.decode(segments[1])?.count == 256)
        #expect(Base64URL.decode(segments[2])?.count == 12)
        #expect(Base64URL.decode(segments[3])?.count == plaintext.count)
        #expect(Base64URL.decode(segments[4])?.count == 16)
        #expect(!segments[3].contains(where: { $0 == "=" }))
    }

    @Test("the plaintext does not appear in the compact serialization")
    func plaintextIsHidden() throws {
        let key = try Fixtures.rsa()
        let secret = "super-secret-token-value-1234567890"
        let compact = try JWE.seal(secret, to: key.publicKey)
        #expect(!compact.contains(secret))
        #expect(!compact.contains(Base64URL.encode(Array(secret.utf8))))
    }

    @Test("a key imported from the recipient's JWK or PEM seals to the same private key")
    func sealToImportedKey() throws {
        let key = try Fixtures.rsa()
        let fromJWK = try RSAPublicKey(jwk: key.publicKey.jwk)
        let fromPEM = try RSAPublicKey(pem: key.publicKey.pem())
        #expect(try JWE.openString(JWE.seal("a", to: fromJWK), with: key) == "a")
        #expect(try JWE.openString(JWE.seal("b", to: fromPEM), with: key) == "b")
    }

    @Test("a key reloaded from its PEM opens what was sealed to the original")
    func openWithReloadedKey() throws {
        let key = try Fixtures.rsa()
        let compact = try JWE.seal("persisted", to: key.publicKey)
        let reloaded = try RSAPrivateKey(pem: key.pem())
        #expect(try JWE.openString(compact, with: reloaded) == "persisted")
    }

    @Test("concurrent seals and opens with one shared key")
    func concurrentUse() async throws {
        let key = try Fixtures.rsa()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let text = "value-\(index)"
                    return try JWE.openString(JWE.seal(text, to: key.publicKey), with: key) == text
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
