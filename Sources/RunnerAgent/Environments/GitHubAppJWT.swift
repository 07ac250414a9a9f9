import Foundation
import JWTKit

/// The JWT a GitHub App authenticates as itself with: RS256 with the app's private key,
/// issuer the app id, valid ten minutes at most (issued a minute early for clock drift, as
/// GitHub recommends).
struct GitHubAppJWT: JWTPayload {
    var iss: IssuerClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}

    static func sign(appID: String, privateKeyPEM: String, now: Date = Date()) async throws -> String {
        let key: Insecure.RSA.PrivateKey
        do {
            key = try Insecure.RSA.PrivateKey(pem: privateKeyPEM)
        } catch {
            throw CloneCredentialError(.githubAppKeyInvalid, "the GitHub App's private key cannot be read (PEM RSA key of 2048 bits or more expected)")
        }
        let keys = JWTKeyCollection()
        await keys.add(rsa: key, digestAlgorithm: .sha256)
        return try await keys.sign(GitHubAppJWT(iss: .init(value: appID), iat: .init(value: now.addingTimeInterval(-60)),
                                                exp: .init(value: now.addingTimeInterval(9 * 60))))
    }
}
