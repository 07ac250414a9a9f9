/// PKCE (RFC 7636) with the S256 method only.
enum PKCE {
    /// 43–128 characters of `[A-Za-z0-9-._~]`.
    static func isValidVerifier(_ verifier: String) -> Bool {
        let bytes = Array(verifier.utf8)
        return (43...128).contains(bytes.count) && bytes.allSatisfy(isUnreserved)
    }

    /// A challenge as S256 yields it: 43 characters of base64url without padding.
    static func isValidChallenge(_ challenge: String) -> Bool {
        let bytes = Array(challenge.utf8)
        return bytes.count == 43 && bytes.allSatisfy { isUnreserved($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") }
    }

    static func challenge(for verifier: String) -> String {
        Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
