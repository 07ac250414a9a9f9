import Foundation
import Testing
@testable import BrokerCrypto

/// Published test vectors: RFC 7516 Appendix A.1 (A256GCM layer), RFC 7638 §3.1 (RSA JWK
/// thumbprint) and RFC 8037 Appendix A (Ed25519 key and thumbprint).
@Suite("RFC test vectors")
struct RFCVectorTests {
    // RFC 7516 Appendix A.1.
    static let plaintext = Array("The true sign of intelligence is not knowledge but imagination.".utf8)
    static let protectedHeader = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ"
    static let cek: [UInt8] = [
        177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246,
        138, 7, 110, 91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252,
    ]
    static let iv: [UInt8] = [227, 197, 117, 252, 2, 219, 233, 68, 180, 225, 77, 219]
    static let aad: [UInt8] = [
        101, 121, 74, 104, 98, 71, 99, 105, 79, 105, 74, 83, 85, 48, 69,
        116, 84, 48, 70, 70, 85, 67, 73, 115, 73, 109, 86, 117, 89, 121, 73,
        54, 73, 107, 69, 121, 78, 84, 90, 72, 81, 48, 48, 105, 102, 81,
    ]
    static let ciphertext: [UInt8] = [
        229, 236, 166, 241, 53, 191, 115, 196, 174, 43, 73, 109, 39, 122,
        233, 96, 140, 206, 120, 52, 51, 237, 48, 11, 190, 219, 186, 80, 111,
        104, 50, 142, 47, 167, 59, 61, 181, 127, 196, 21, 40, 82, 242, 32,
        123, 143, 168, 226, 73, 216, 176, 144, 138, 247, 106, 60, 16, 205,
        160, 109, 64, 63, 192,
    ]
    static let tag: [UInt8] = [92, 80, 104, 49, 133, 25, 161, 215, 173, 101, 219, 211, 136, 91, 210, 145]
    static let encodedCiphertext = "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A"
    static let encodedTag = "XFBoMYUZodetZdvTiFvSkQ"
    static let encodedIV = "48V1_ALb6US04U3b"

    @Test("RFC 7516 A.1: the AAD is the ASCII of the encoded protected header")
    func aadIsEncodedHeader() {
        #expect(Array(Self.protectedHeader.utf8) == Self.aad)
        #expect(Base64URL.decode(Self.protectedHeader) == Array(#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#.utf8))
    }

    @Test("RFC 7516 A.1: A256GCM reproduces the ciphertext and authentication tag")
    func a256gcmSeal() throws {
        let sealed = try AES256GCM.seal(Self.plaintext, key: Self.cek, iv: Self.iv, aad: Self.aad)
        #expect(sealed.ciphertext == Self.ciphertext)
        #expect(sealed.tag == Self.tag)
        #expect(Base64URL.encode(sealed.ciphertext) == Self.encodedCiphertext)
        #expect(Base64URL.encode(sealed.tag) == Self.encodedTag)
        #expect(Base64URL.encode(Self.iv) == Self.encodedIV)
    }

    @Test("RFC 7516 A.1: A256GCM opens the published ciphertext")
    func a256gcmOpen() throws {
        let opened = try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: Self.cek, iv: Self.iv, aad: Self.aad)
        #expect(opened == Self.plaintext)
    }

    @Test("RFC 7516 A.1: flipping any bit of the tag is refused", arguments: [0, 1, 7, 64, 127])
    func a256gcmRejectsFlippedTagBit(bit: Int) {
        var tag = Self.tag
        tag[bit / 8] ^= 1 << UInt8(bit % 8)
        expectCryptoError(.decryptionFailed) {
            try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: tag), key: Self.cek, iv: Self.iv, aad: Self.aad)
        }
    }

    @Test("RFC 7516 A.1: altered ciphertext, IV, AAD or key is refused")
    func a256gcmRejectsAlteredInputs() {
        var ciphertext = Self.ciphertext
        ciphertext[10] ^= 0x01
        var iv = Self.iv
        iv[0] ^= 0x80
        var aad = Self.aad
        aad[aad.count - 1] ^= 0x01
        var key = Self.cek
        key[31] ^= 0x01
        expectCryptoError(.decryptionFailed) { try AES256GCM.open(.init(ciphertext: ciphertext, tag: Self.tag), key: Self.cek, iv: Self.iv, aad: Self.aad) }
        expectCryptoError(.decryptionFailed) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: Self.cek, iv: iv, aad: Self.aad) }
        expectCryptoError(.decryptionFailed) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: Self.cek, iv: Self.iv, aad: aad) }
        expectCryptoError(.decryptionFailed) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: key, iv: Self.iv, aad: Self.aad) }
        expectCryptoError(.decryptionFailed) { try AES256GCM.open(.init(ciphertext: Array(Self.ciphertext.dropLast()), tag: Self.tag), key: Self.cek, iv: Self.iv, aad: Self.aad) }
    }

    @Test("A256GCM refuses wrong key, IV and tag sizes")
    func a256gcmSizes() {
        expectCryptoError(.invalidKey) { try AES256GCM.seal(Self.plaintext, key: Array(Self.cek.prefix(16)), iv: Self.iv, aad: []) }
        expectCryptoError(.malformed) { try AES256GCM.seal(Self.plaintext, key: Self.cek, iv: Self.iv + [0], aad: []) }
        expectCryptoError(.malformed) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: Self.cek, iv: Array(Self.iv.prefix(8)), aad: Self.aad) }
        expectCryptoError(.malformed) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Array(Self.tag.prefix(12))), key: Self.cek, iv: Self.iv, aad: Self.aad) }
        expectCryptoError(.invalidKey) { try AES256GCM.open(.init(ciphertext: Self.ciphertext, tag: Self.tag), key: Self.cek + [0], iv: Self.iv, aad: Self.aad) }
    }

    // RFC 7638 §3.1.
    static let rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    static let rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

    @Test("RFC 7638 §3.1: RSA JWK thumbprint")
    func rsaThumbprint() throws {
        let jwk = JWK(kty: "RSA", n: Self.rfc7638N, e: "AQAB")
        #expect(try jwk.thumbprint() == Self.rfc7638Thumbprint)
        // Optional members (the RFC's example carries alg and kid) do not take part.
        let decorated = JWK(kty: "RSA", n: Self.rfc7638N, e: "AQAB", kid: "2011-04-29", alg: "RS256")
        #expect(try decorated.thumbprint() == Self.rfc7638Thumbprint)
    }

    @Test("RFC 7638 §3.1: importing the RSA JWK gives that thumbprint as keyID")
    func rsaKeyIDFromJWK() throws {
        let key = try RSAPublicKey(jwk: JWK(kty: "RSA", n: Self.rfc7638N, e: "AQAB", kid: "2011-04-29", alg: "RS256"))
        #expect(key.keyID == Self.rfc7638Thumbprint)
        #expect(key.bits == 2048)
        #expect(key.jwk == JWK(kty: "RSA", n: Self.rfc7638N, e: "AQAB"))
    }

    @Test("RFC 7638: changing one character of n changes the thumbprint")
    func rsaThumbprintDependsOnN() throws {
        var n = Array(Self.rfc7638N)
        n[10] = n[10] == "A" ? "B" : "A"
        #expect(try JWK(kty: "RSA", n: String(n), e: "AQAB").thumbprint() != Self.rfc7638Thumbprint)
        #expect(try JWK(kty: "RSA", n: Self.rfc7638N, e: "AQAC").thumbprint() != Self.rfc7638Thumbprint)
    }

    // RFC 8037 Appendix A.1–A.3 (the key is RFC 8032's test 1).
    static let rfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    static let rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    static let rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

    @Test("RFC 8037 A.3: Ed25519 (OKP) JWK thumbprint")
    func okpThumbprint() throws {
        #expect(try JWK(kty: "OKP", crv: "Ed25519", x: Self.rfc8037X).thumbprint() == Self.rfc8037Thumbprint)
        let key = try Ed25519PublicKey(jwk: JWK(kty: "OKP", crv: "Ed25519", x: Self.rfc8037X))
        #expect(key.keyID == Self.rfc8037Thumbprint)
        #expect(key.rawRepresentation == Array(hex: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
    }

    @Test("RFC 8037 A.1: the private key's seed yields the published public key")
    func okpPrivateKey() throws {
        let seed = try #require(Base64URL.decode(Self.rfc8037D))
        #expect(seed == Array(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        // PKCS#8 wrapping of an Ed25519 seed (RFC 8410): a fixed 16-byte prefix, then the seed.
        let der = Array(hex: "302e020100300506032b657004220420")! + seed
        let pem = PEMArmor.begin(PEMArmor.privateKey) + "\n" + Data(der).base64EncodedString() + "\n" + PEMArmor.end(PEMArmor.privateKey) + "\n"
        let key = try Ed25519PrivateKey(pem: pem)
        #expect(try key.rawRepresentation == seed)
        #expect(Base64URL.encode(key.publicKey.rawRepresentation) == Self.rfc8037X)
        #expect(key.keyID == Self.rfc8037Thumbprint)
    }

    @Test("SHA-256 known answers (FIPS 180-2)")
    func sha256() {
        #expect(SHA256.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
