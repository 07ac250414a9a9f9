import FakeSCM
import Testing

@Suite struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test func fipsVectors() {
        #expect(Self.hex(FakeSCM.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(FakeSCM.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // Two blocks (448-bit message).
        #expect(Self.hex(FakeSCM.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // 55, 56 and 64 bytes: the padding boundaries.
        #expect(Self.hex(FakeSCM.sha256(Array(repeating: UInt8(ascii: "a"), count: 55)))
            == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        #expect(Self.hex(FakeSCM.sha256(Array(repeating: UInt8(ascii: "a"), count: 56)))
            == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        #expect(Self.hex(FakeSCM.sha256(Array(repeating: UInt8(ascii: "a"), count: 64)))
            == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }

    /// RFC 7636 Appendix B.
    @Test func pkceExample() {
        #expect(FakeSCM.pkceChallenge(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func verifiersAreValidLength() {
        let verifier = FakeSCM.makePKCEVerifier()
        #expect(verifier.count == 43)
        #expect(FakeSCM.pkceChallenge(verifier: verifier).count == 43)
    }
}
