import Foundation
import Testing
@testable import BrokerCrypto

/// Everything JWE.open must refuse, each with its precise CryptoError code.
@Suite("JWE rejections")
struct JWERejectionTests {
    static let plaintext = "a secret that must never come back from a tampered message"

    static func sealed() throws -> (key: RSAPrivateKey, compact: String, segments: [String]) {
        let key = try Fixtures.rsa()
        let compact = try JWE.seal(plaintext, to: key.publicKey)
        return (key, compact, compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init))
    }

    static func encodeHeader(_ json: String) -> String { Base64URL.encode(Array(json.utf8)) }

    /// A valid message whose protected header is replaced by `json`.
    static func withHeader(_ json: String) throws -> (key: RSAPrivateKey, compact: String) {
        let (key, _, segments) = try sealed()
        return (key, ([encodeHeader(json)] + segments.dropFirst()).joined(separator: "."))
    }

    /// Expects both `header(of:)` and `open` to refuse `compact` with `code`.
    static func expectRefused(_ compact: String, with key: RSAPrivateKey, _ code: CryptoError.Code,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        expectCryptoError(code, sourceLocation: sourceLocation) { try JWE.open(compact, with: key) }
        expectCryptoError(code, sourceLocation: sourceLocation) { try JWE.openString(compact, with: key) }
    }

    // MARK: header parameters

    @Test("alg other than RSA-OAEP-256 → unsupportedAlgorithm",
          arguments: ["none", "RSA1_5", "dir", "RSA-OAEP", "rsa-oaep-256", "RSA-OAEP-384", "A256KW", "ECDH-ES", ""])
    func unsupportedAlgorithm(alg: String) throws {
        let key = try Fixtures.rsa()
        let (_, compact) = try Self.withHeader(#"{"alg":"\#(alg)","enc":"A256GCM","kid":"\#(key.keyID)"}"#)
        Self.expectRefused(compact, with: key, .unsupportedAlgorithm)
        expectCryptoError(.unsupportedAlgorithm) { try JWE.header(of: compact) }
    }

    @Test("enc other than A256GCM → unsupportedEncryption",
          arguments: ["A128GCM", "A192GCM", "A256CBC-HS512", "A128CBC-HS256", "a256gcm", ""])
    func unsupportedEncryption(enc: String) throws {
        let key = try Fixtures.rsa()
        let (_, compact) = try Self.withHeader(#"{"alg":"RSA-OAEP-256","enc":"\#(enc)","kid":"\#(key.keyID)"}"#)
        Self.expectRefused(compact, with: key, .unsupportedEncryption)
        expectCryptoError(.unsupportedEncryption) { try JWE.header(of: compact) }
    }

    @Test("zip, crit (and key-carrying parameters) → unsupportedHeader", arguments: [
        #""zip":"DEF""#, #""crit":["exp"]"#, #""crit":[]"#, #""zip":null"#,
        #""jku":"https://example.com/keys""#, #""jwk":{"kty":"RSA"}"#, #""x5u":"https://example.com/x5u""#, #""x5c":[]"#,
    ])
    func unsupportedHeader(member: String) throws {
        let key = try Fixtures.rsa()
        let (_, compact) = try Self.withHeader(#"{"alg":"RSA-OAEP-256","enc":"A256GCM",\#(member),"kid":"\#(key.keyID)"}"#)
        Self.expectRefused(compact, with: key, .unsupportedHeader)
    }

    @Test("alg, enc or kid missing or not a string → malformed", arguments: [
        #"{"enc":"A256GCM","kid":"KID"}"#,
        #"{"alg":"RSA-OAEP-256","kid":"KID"}"#,
        #"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#,
        #"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":""}"#,
        #"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":42}"#,
        #"{"alg":["RSA-OAEP-256"],"enc":"A256GCM","kid":"KID"}"#,
        #"{"alg":"RSA-OAEP-256","enc":null,"kid":"KID"}"#,
    ])
    func missingMembers(template: String) throws {
        let key = try Fixtures.rsa()
        let (_, compact) = try Self.withHeader(template.replacingOccurrences(of: "KID", with: key.keyID))
        Self.expectRefused(compact, with: key, .malformed)
    }

    @Test("header that is not a JSON object → malformed", arguments: [
        "not json", "[]", #"["alg","RSA-OAEP-256"]"#, "\"RSA-OAEP-256\"", "42", "null", "", "{", #"{"alg":"RSA-OAEP-256""#,
    ])
    func headerNotJSONObject(json: String) throws {
        let key = try Fixtures.rsa()
        let (_, compact) = try Self.withHeader(json)
        Self.expectRefused(compact, with: key, .malformed)
        expectCryptoError(.malformed) { try JWE.header(of: compact) }
    }

    @Test("header bytes that are not UTF-8 → malformed")
    func headerNotUTF8() throws {
        let (key, _, segments) = try Self.sealed()
        let compact = ([Base64URL.encode([0x7B, 0xFF, 0xFE, 0x7D])] + segments.dropFirst()).joined(separator: ".")
        Self.expectRefused(compact, with: key, .malformed)
    }

    // MARK: keys

    @Test("kid of another key → keyMismatch")
    func keyMismatch() throws {
        let key = try Fixtures.rsa()
        let other = try Fixtures.otherRSA()
        let compact = try JWE.seal(Self.plaintext, to: other.publicKey)
        Self.expectRefused(compact, with: key, .keyMismatch)
        // ...and the right key still opens it.
        #expect(try JWE.openString(compact, with: other) == Self.plaintext)
    }

    @Test("a different private key whose kid was forged into the header cannot open the message")
    func forgedKid() throws {
        let (_, _, segments) = try Self.sealed()
        let other = try Fixtures.otherRSA()
        let forgedHeader = Self.encodeHeader(#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"\#(other.keyID)"}"#)
        let compact = ([forgedHeader] + segments.dropFirst()).joined(separator: ".")
        #expect(try JWE.header(of: compact).kid == other.keyID)
        do {
            let opened = try JWE.open(compact, with: other)
            Issue.record("a message sealed to another key was opened: \(opened.count) bytes")
        } catch let error as CryptoError {
            #expect(error.code == .decryptionFailed || error.code == .malformed, "got \(error)")
        }
    }

    @Test("a re-encoded header with the same values is refused: the header is authenticated")
    func headerIsAuthenticated() throws {
        let (key, _, segments) = try Self.sealed()
        for json in [
            #"{"enc":"A256GCM","alg":"RSA-OAEP-256","kid":"\#(key.keyID)"}"#,
            #"{"alg":"RSA-OAEP-256", "enc":"A256GCM","kid":"\#(key.keyID)"}"#,
            #"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"\#(key.keyID)","typ":"JWE"}"#,
        ] {
            let compact = ([Self.encodeHeader(json)] + segments.dropFirst()).joined(separator: ".")
            #expect(try JWE.header(of: compact).kid == key.keyID, "the header itself is acceptable")
            Self.expectRefused(compact, with: key, .decryptionFailed)
        }
    }

    @Test("swapping IV, ciphertext or tag in from another message sealed to the same key → decryptionFailed")
    func spliced() throws {
        let (key, _, first) = try Self.sealed()
        let (_, _, second) = try Self.sealed()
        for index in 1...4 {
            var spliced = first
            spliced[index] = second[index]
            Self.expectRefused(spliced.joined(separator: "."), with: key, .decryptionFailed)
        }
    }

    // MARK: tampering

    static func replacingCharacter(in segment: String, at offset: Int) -> String {
        var characters = Array(segment)
        characters[offset] = characters[offset] == "A" ? "B" : "A"
        return String(characters)
    }

    @Test("changing any single character of any segment makes open throw", arguments: 0..<5)
    func characterTampering(segmentIndex: Int) throws {
        let (key, _, segments) = try Self.sealed()
        let segment = segments[segmentIndex]
        #expect(!segment.isEmpty)
        let positions = Set([0, 1, 2, segment.count / 3, segment.count / 2, segment.count - 2, segment.count - 1])
        for position in positions.sorted() where position >= 0 && position < segment.count {
            var tampered = segments
            tampered[segmentIndex] = Self.replacingCharacter(in: segment, at: position)
            #expect(tampered[segmentIndex] != segment)
            #expect(throws: CryptoError.self, "segment \(segmentIndex), character \(position)") {
                try JWE.open(tampered.joined(separator: "."), with: key)
            }
        }
    }

    @Test("flipping any bit of any decoded segment makes open throw", arguments: 0..<5)
    func byteTampering(segmentIndex: Int) throws {
        let (key, _, segments) = try Self.sealed()
        let bytes = try #require(Base64URL.decode(segments[segmentIndex]))
        let positions = Set([0, 1, bytes.count / 2, bytes.count - 1])
        for position in positions.sorted() {
            for bit in [0, 7] {
                var flipped = bytes
                flipped[position] ^= 1 << UInt8(bit)
                var tampered = segments
                tampered[segmentIndex] = Base64URL.encode(flipped)
                #expect(throws: CryptoError.self, "segment \(segmentIndex), byte \(position), bit \(bit)") {
                    try JWE.open(tampered.joined(separator: "."), with: key)
                }
            }
        }
    }

    @Test("a flipped bit in the encrypted key, IV, ciphertext or tag → decryptionFailed", arguments: 1..<5)
    func bodyTamperingCode(segmentIndex: Int) throws {
        let (key, _, segments) = try Self.sealed()
        var bytes = try #require(Base64URL.decode(segments[segmentIndex]))
        bytes[bytes.count / 2] ^= 0x10
        var tampered = segments
        tampered[segmentIndex] = Base64URL.encode(bytes)
        Self.expectRefused(tampered.joined(separator: "."), with: key, .decryptionFailed)
    }

    @Test("the last character of a segment altered only in its unused bits is refused")
    func nonCanonicalSegment() throws {
        let (key, _, segments) = try Self.sealed()
        // The 16-byte tag encodes to 22 characters: the last one carries 2 data bits and 4 unused bits.
        let tag = segments[4]
        #expect(tag.count == 22)
        let last = try #require(tag.last)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let value = try #require(alphabet.firstIndex(of: last))
        var tampered = segments
        tampered[4] = String(tag.dropLast()) + String(alphabet[value | 1])
        #expect(value & 1 == 0)
        Self.expectRefused(tampered.joined(separator: "."), with: key, .malformed)
    }

    // MARK: structure

    @Test("wrong number of segments → malformed")
    func segmentCount() throws {
        let (key, compact, segments) = try Self.sealed()
        Self.expectRefused(segments.prefix(4).joined(separator: "."), with: key, .malformed)
        Self.expectRefused(compact + "." + segments[4], with: key, .malformed)
        Self.expectRefused(compact + ".", with: key, .malformed)
        Self.expectRefused("." + compact, with: key, .malformed)
        Self.expectRefused(segments.prefix(3).joined(separator: "."), with: key, .malformed)
        Self.expectRefused(segments[0], with: key, .malformed)
        Self.expectRefused("", with: key, .malformed)
        Self.expectRefused("....", with: key, .malformed)
        Self.expectRefused(compact.replacingOccurrences(of: ".", with: ".."), with: key, .malformed)
    }

    @Test("bad base64url in any segment → malformed", arguments: 0..<5)
    func badBase64URL(segmentIndex: Int) throws {
        let (key, _, segments) = try Self.sealed()
        let segment = segments[segmentIndex]
        let middle = segment.index(segment.startIndex, offsetBy: segment.count / 2)
        var variants = [
            segment + "=", segment + "==",
            String(segment[..<middle]) + "+" + String(segment[segment.index(after: middle)...]),
            String(segment[..<middle]) + "/" + String(segment[segment.index(after: middle)...]),
            String(segment[..<middle]) + " " + String(segment[segment.index(after: middle)...]),
            " " + segment, segment + " ", segment + "\n",
            String(segment[..<middle]) + "\u{00E9}" + String(segment[segment.index(after: middle)...]),
        ]
        // Standard base64 instead of base64url.
        variants.append(segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"))
        for variant in variants where variant != segment {
            var tampered = segments
            tampered[segmentIndex] = variant
            Self.expectRefused(tampered.joined(separator: "."), with: key, .malformed)
        }
    }

    @Test("input over the maximum compact length → inputTooLarge, checked before parsing")
    func tooLarge() throws {
        let (key, compact, _) = try Self.sealed()
        Self.expectRefused(String(repeating: "A", count: JWE.maximumCompactLength + 1), with: key, .inputTooLarge)
        Self.expectRefused(compact + String(repeating: "A", count: JWE.maximumCompactLength), with: key, .inputTooLarge)
        expectCryptoError(.inputTooLarge) { try JWE.header(of: String(repeating: ".", count: JWE.maximumCompactLength + 1)) }
        // Multi-byte characters count as their UTF-8 bytes.
        Self.expectRefused(String(repeating: "é", count: JWE.maximumCompactLength / 2 + 1), with: key, .inputTooLarge)
        // At the limit, the length is acceptable and the shape is what is refused.
        Self.expectRefused(String(repeating: "A", count: JWE.maximumCompactLength), with: key, .malformed)
    }

    @Test("wrong IV length → malformed", arguments: [0, 1, 11, 13, 16, 32])
    func ivLength(length: Int) throws {
        let (key, _, segments) = try Self.sealed()
        var tampered = segments
        tampered[2] = Base64URL.encode([UInt8](repeating: 7, count: length))
        Self.expectRefused(tampered.joined(separator: "."), with: key, .malformed)
    }

    @Test("wrong tag length → malformed", arguments: [0, 1, 12, 15, 17, 32])
    func tagLength(length: Int) throws {
        let (key, _, segments) = try Self.sealed()
        var tampered = segments
        tampered[4] = Base64URL.encode([UInt8](repeating: 7, count: length))
        Self.expectRefused(tampered.joined(separator: "."), with: key, .malformed)
    }

    @Test("an encrypted key that is empty or not the modulus size → malformed", arguments: [0, 1, 32, 255, 257, 512])
    func wrappedKeyLength(length: Int) throws {
        let (key, _, segments) = try Self.sealed()
        var tampered = segments
        tampered[1] = Base64URL.encode([UInt8](repeating: 7, count: length))
        Self.expectRefused(tampered.joined(separator: "."), with: key, .malformed)
    }

    @Test("an encrypted key of the right size that is not an OAEP block → decryptionFailed")
    func wrappedKeyGarbage() throws {
        let (key, _, segments) = try Self.sealed()
        for bytes in [[UInt8](repeating: 0, count: 256), [UInt8](repeating: 0xFF, count: 256), SecureRandom.bytes(256)] {
            var tampered = segments
            tampered[1] = Base64URL.encode(bytes)
            Self.expectRefused(tampered.joined(separator: "."), with: key, .decryptionFailed)
        }
    }

    @Test("a wrapped content key of the wrong length (a valid OAEP block) → decryptionFailed", arguments: [0, 16, 31, 33])
    func wrappedKeyWrongCEKLength(length: Int) throws {
        let (key, _, segments) = try Self.sealed()
        var tampered = segments
        tampered[1] = try Base64URL.encode(key.publicKey.encryptOAEPSHA256([UInt8](repeating: 1, count: length)))
        Self.expectRefused(tampered.joined(separator: "."), with: key, .decryptionFailed)
    }

    @Test("an empty ciphertext where there was plaintext → decryptionFailed")
    func emptyCiphertext() throws {
        let (key, _, segments) = try Self.sealed()
        var tampered = segments
        tampered[3] = ""
        Self.expectRefused(tampered.joined(separator: "."), with: key, .decryptionFailed)
    }
}
