import BrokerCrypto
import Foundation
import JWTKit
import RunnerAgent

enum Fixtures {
    /// 2048-bit keys keep the suite fast; production defaults to 3072.
    static func runnerKeys() throws -> RunnerKeys {
        RunnerKeys(encryption: try RSAPrivateKey.generate(bits: 2048), signing: try Ed25519PrivateKey.generate())
    }

    static func registrationBody(token: String, keys: RunnerKeys) -> String {
        registrationBody(token: token, encryptionKey: keys.encryption.publicKey.jwk.jsonString(),
                         signingKey: keys.signing.publicKey.jwk.jsonString())
    }

    static func registrationBody(token: String, encryptionKey: String, signingKey: String) -> String {
        #"{"registration_token":"\#(token)","encryption_key":\#(encryptionKey),"signing_key":\#(signingKey)}"#
    }

    /// `value` as a JSON string literal, quotes included.
    static func jsonString(_ value: String) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self)
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }

    struct Claims: JWTPayload {
        var iss: String
        var sub: String
        var aud: String
        var exp: Int
        var iat: Int?
        var jti: String

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static let audience = "http://127.0.0.1:8080/runner/v1/token"

    /// A client assertion with each claim overridable, signed with `key`.
    static func assertion(runnerID: String, key: Ed25519PrivateKey, now: Date, audience: String = audience,
                          expiresIn: TimeInterval = 120, issuedAt: Date? = nil, jti: String = UUID().uuidString,
                          subject: String? = nil) async throws -> String {
        let claims = Claims(iss: runnerID, sub: subject ?? runnerID, aud: audience, exp: Int(now.timeIntervalSince1970 + expiresIn),
                            iat: Int((issuedAt ?? now).timeIntervalSince1970), jti: jti)
        let keys = JWTKeyCollection()
        await keys.add(eddsa: try EdDSA.PrivateKey(d: Base64URL.encode(try key.rawRepresentation), curve: .ed25519))
        return try await keys.sign(claims)
    }

    /// An unsigned JWT with the given header (for algorithm-confusion tests).
    static func forgedJWT(header: String, runnerID: String, now: Date, signature: String = "") -> String {
        let payload = #"{"iss":"\#(runnerID)","sub":"\#(runnerID)","aud":"\#(audience)","exp":\#(Int(now.timeIntervalSince1970) + 60),"jti":"\#(UUID().uuidString)"}"#
        return Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8)) + "." + signature
    }

    static func entraIntegration(name: String = "contoso-ado", secret: String = "client-secret-value", extra: String = "") -> String {
        #"{"name":"\#(name)","provider":"azure-devops","url":"https://dev.azure.com/contoso","oauth":{"flavor":"entra","tenant":"organizations","client_id":"11111111-2222-3333-4444-555555555555","client_secret":"\#(secret)"},"pat":{"enabled":true},"labels":["prod"],"description":"Contoso **ADO**"\#(extra)}"#
    }
}
