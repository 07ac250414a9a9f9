import Testing
@testable import BrokerCrypto

/// base64url without padding, strict on input.
@Suite("Base64URL")
struct Base64URLTests {
    // RFC 4648 §10 test vectors, unpadded, plus bytes that exercise '-' and '_'.
    @Test("known encodings", arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func rfc4648(text: String, encoded: String) {
        #expect(Base64URL.encode(Array(text.utf8)) == encoded)
        #expect(Base64URL.decode(encoded) == Array(text.utf8))
    }

    @Test("the URL-safe alphabet: 62 is '-', 63 is '_'")
    func urlSafeAlphabet() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode([0xFF, 0xFF, 0xFF]) == "____")
        #expect(Base64URL.encode([0xFB, 0xEF, 0xBE]) == "----")
        #expect(Base64URL.encode([0x00]) == "AA")
        #expect(Base64URL.encode([0x00, 0x00]) == "AAA")
        #expect(Base64URL.encode([0x03, 0xE0]) == "A-A")
        #expect(Base64URL.decode("-_8") == [0xFB, 0xFF])
        #expect(Base64URL.decode("____") == [0xFF, 0xFF, 0xFF])
        #expect(Base64URL.encode([1, 0, 1]) == "AQAB")
        #expect(Base64URL.decode("AQAB") == [1, 0, 1])
    }

    @Test("every byte string round-trips", arguments: 0..<40)
    func roundTrip(length: Int) {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
        let random = SecureRandom.bytes(length)
        for input in [bytes, random] {
            let encoded = Base64URL.encode(input)
            #expect(encoded.utf8.count == (length * 4 + 2) / 3)
            #expect(!encoded.contains("="))
            #expect(Base64URL.decode(encoded) == input)
        }
    }

    @Test("every single byte round-trips")
    func allBytes() {
        for byte in UInt8.min...UInt8.max {
            #expect(Base64URL.decode(Base64URL.encode([byte])) == [byte])
        }
        let all = [UInt8](0...255)
        #expect(Base64URL.decode(Base64URL.encode(all)) == all)
        #expect(Base64URL.decode(Substring(Base64URL.encode(all))) == all)
    }

    @Test("padding is refused", arguments: ["Zg==", "Zg=", "Zm8=", "AA==", "====", "=", "Zm9v="])
    func padding(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("characters outside the URL-safe alphabet are refused",
          arguments: ["Zm+v", "Zm/v", "+", "/w", "Zm 9v", " Zm9v", "Zm9v ", "Zm9v\n", "Zm\t9v", "Zm.9v", "Zm9é", "Zm9v\0", "!!", "Zm9v%3D"])
    func outsideAlphabet(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("non-canonical trailing bits are refused; only the canonical form decodes")
    func canonicalTrailingBits() {
        // One byte 0x00: 8 bits in two characters, the last 4 bits unused. "AA" is canonical.
        #expect(Base64URL.decode("AA") == [0x00])
        for text in ["AB", "AC", "AD", "AE", "AI", "AP"] {
            #expect(Base64URL.decode(text) == nil, "\(text)")
        }
        // One byte 0xFF: "_w" is canonical, "_x".."__" are not.
        #expect(Base64URL.decode("_w") == [0xFF])
        #expect(Base64URL.decode("_x") == nil)
        #expect(Base64URL.decode("__") == nil)
        // Two bytes: the last 2 bits of the third character are unused.
        #expect(Base64URL.decode("AAA") == [0x00, 0x00])
        #expect(Base64URL.decode("AAB") == nil)
        #expect(Base64URL.decode("AAC") == nil)
        #expect(Base64URL.decode("AAD") == nil)
        #expect(Base64URL.decode("Zm9") == nil)
        #expect(Base64URL.decode("Zm8") == Array("fo".utf8))
        #expect(Base64URL.decode("Zg") == Array("f".utf8))
        #expect(Base64URL.decode("Zh") == nil)
    }

    @Test("a length of 1 mod 4 is refused", arguments: ["A", "Z", "AAAAA", "Zm9vY", "Zm9vYmFyZ"])
    func lengthOneModFour(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }

    @Test("the empty string decodes to no bytes")
    func empty() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.encode([UInt8]()) == "")
    }

    @Test("changing any character of an encoding changes what it decodes to (or is refused)")
    func everyCharacterMatters() {
        let bytes = SecureRandom.bytes(17)
        let encoded = Array(Base64URL.encode(bytes))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for position in encoded.indices {
            for replacement in alphabet where replacement != encoded[position] {
                var altered = encoded
                altered[position] = replacement
                #expect(Base64URL.decode(String(altered)) != bytes)
            }
        }
    }

    @Test("SecureRandom: requested sizes, distinct outputs, tokens with prefix")
    func secureRandom() {
        #expect(SecureRandom.bytes(0).isEmpty)
        #expect(SecureRandom.bytes(32).count == 32)
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        let token = SecureRandom.token(bytes: 32, prefix: "rt_")
        #expect(token.hasPrefix("rt_"))
        #expect(Base64URL.decode(token.dropFirst(3))?.count == 32)
        #expect(SecureRandom.token().utf8.count == 43)
        #expect(SecureRandom.token() != SecureRandom.token())
    }
}
