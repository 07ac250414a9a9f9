import Foundation

/// A JSON Web Key (RFC 7517) as it travels: the members of the key types we use
/// (RSA and OKP/Ed25519). Private members are only recognised in order to refuse them
/// where a public key belongs.
public struct JWK: Codable, Hashable, Sendable {
    public var kty: String
    public var n: String?
    public var e: String?
    public var crv: String?
    public var x: String?
    public var kid: String?
    public var use: String?
    public var alg: String?
    // Private members: any of them makes the JWK private.
    public var d: String?
    public var p: String?
    public var q: String?
    public var dp: String?
    public var dq: String?
    public var qi: String?

    public init(kty: String, n: String? = nil, e: String? = nil, crv: String? = nil, x: String? = nil,
                kid: String? = nil, use: String? = nil, alg: String? = nil) {
        self.kty = kty
        self.n = n
        self.e = e
        self.crv = crv
        self.x = x
        self.kid = kid
        self.use = use
        self.alg = alg
    }

    public var hasPrivateMembers: Bool {
        [d, p, q, dp, dq, qi].contains { $0 != nil }
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no
    /// whitespace, base64url-encoded. The member values are base64url or fixed names, so
    /// no JSON escaping is ever needed.
    public func thumbprint() throws -> String {
        let canonical: String
        switch kty {
        case "RSA":
            guard let e, let n else { throw CryptoError.malformed("an RSA JWK needs n and e") }
            canonical = #"{"e":"\#(e)","kty":"RSA","n":"\#(n)"}"#
        case "OKP":
            guard let crv, let x else { throw CryptoError.malformed("an OKP JWK needs crv and x") }
            canonical = #"{"crv":"\#(crv)","kty":"OKP","x":"\#(x)"}"#
        default:
            throw CryptoError(.invalidKey, "unsupported key type")
        }
        for value in [n, e, crv, x].compactMap({ $0 }) where !value.utf8.allSatisfy(Self.isThumbprintSafe) {
            throw CryptoError.malformed("JWK member is not base64url")
        }
        return Base64URL.encode(SHA256.hash(Array(canonical.utf8)))
    }

    private static func isThumbprintSafe(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of optional strings cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public init(jsonString: String) throws {
        guard let value = try? JSONDecoder().decode(JWK.self, from: Data(jsonString.utf8)) else {
            throw CryptoError.malformed("not a JWK")
        }
        self = value
    }
}
