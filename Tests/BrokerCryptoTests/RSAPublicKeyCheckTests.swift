@testable import BrokerCrypto
import Foundation
import Testing

/// The OpenSSL public-key check runs for every RSA key, whatever it arrived as: a hostile key
/// sent as PEM is refused just as one sent as JWK.
@Suite("RSA public key check on every import path")
struct RSAPublicKeyCheckTests {
    /// SubjectPublicKeyInfo DER for rsaEncryption with the given modulus and exponent.
    static func spkiPEM(n: [UInt8], e: [UInt8]) -> String {
        func length(_ count: Int) -> [UInt8] {
            count < 128 ? [UInt8(count)] : count < 256 ? [0x81, UInt8(count)] : [0x82, UInt8(count >> 8), UInt8(count & 0xFF)]
        }
        func tlv(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] { [tag] + length(body.count) + body }
        func integer(_ bytes: [UInt8]) -> [UInt8] { tlv(0x02, (bytes.first ?? 0) >= 0x80 ? [0] + bytes : bytes) }
        let algorithm = tlv(0x30, [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00])
        let rsaKey = tlv(0x30, integer(n) + integer(e))
        let der = tlv(0x30, algorithm + tlv(0x03, [0] + rsaKey))
        return "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters) + "\n-----END PUBLIC KEY-----\n"
    }

    @Test func aWellFormedSPKIFromTheSameBuilderIsAccepted() throws {
        let key = try RSAPrivateKey.generate(bits: 2048)
        let n = try #require(key.publicKey.jwk.n.flatMap { Base64URL.decode($0) })
        let imported = try RSAPublicKey(pem: Self.spkiPEM(n: n, e: [0x01, 0x00, 0x01]))
        #expect(imported.keyID == key.keyID)
    }

    @Test(arguments: ["even modulus", "exponent 1", "even exponent"])
    func aHostilePEMKeyIsRefused(_ flaw: String) throws {
        let key = try RSAPrivateKey.generate(bits: 2048)
        var n = try #require(key.publicKey.jwk.n.flatMap { Base64URL.decode($0) })
        var e: [UInt8] = [0x01, 0x00, 0x01]
        switch flaw {
        case "even modulus": n[n.count - 1] &= 0xFE
        case "exponent 1": e = [0x01]
        default: e = [0x01, 0x00, 0x02]
        }
        let error = #expect(throws: CryptoError.self) { try RSAPublicKey(pem: Self.spkiPEM(n: n, e: e)) }
        #expect(error?.code == .invalidKey)
    }
}
