import BrokerCrypto
import Foundation
import JWTKit

/// The runner's RFC 7523 client assertion: a short-lived EdDSA JWT naming the runner as
/// issuer and subject and the broker's token endpoint as audience.
struct ClientAssertion: JWTPayload {
    static let lifetime: TimeInterval = 120

    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    static func sign(runnerID: String, audience: String, key: Ed25519PrivateKey, now: Date = Date()) async throws -> String {
        let payload = ClientAssertion(
            iss: .init(value: runnerID), sub: .init(value: runnerID), aud: .init(value: [audience]),
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(lifetime)),
            jti: .init(value: SecureRandom.token(bytes: 16)))
        let keys = JWTKeyCollection()
        await keys.add(eddsa: try EdDSA.PrivateKey(d: Base64URL.encode(try key.rawRepresentation), curve: .ed25519))
        return try await keys.sign(payload)
    }
}
