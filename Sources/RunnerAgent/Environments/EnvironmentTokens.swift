import BrokerCrypto
import BrokerProtocol
import Foundation
import JWTKit
import SCMProviders

/// Environment tokens: what an environment shows the runner's credential socket. An HS256 JWT
/// under a key only this runner's files hold (`<keys-dir>/environment-tokens.key`, 0600),
/// naming the environment and the clone URL it was issued for, expiring with the grant. The
/// broker is still asked on every use, so revoking the grant revokes the token.
public struct EnvironmentTokens: Sendable {
    public static let fileName = "environment-tokens.key"
    static let audience = "scm-runner-credential-socket"

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var aud: AudienceClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        /// The clone URL git must ask for.
        var url: String

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            try aud.verifyIntendedAudience(includes: EnvironmentTokens.audience)
        }
    }

    /// What a valid token says.
    public struct Environment: Sendable, Equatable {
        public var id: String
        public var cloneURL: String
        public var expiresAt: Date
    }

    private let keys: JWTKeyCollection

    init(secret: [UInt8]) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// Loads the key from the runner's keys directory, creating it (32 random bytes) on first use.
    public static func load(keysDirectory: String) async throws -> EnvironmentTokens {
        let path = RunnerKeys.path(keysDirectory, fileName)
        if !FileManager.default.fileExists(atPath: path) {
            do {
                try KeyFile.write(Base64URL.encode(SecureRandom.bytes(32)) + "\n", to: path)
            } catch let error as CryptoError where error.code == .keyFileExists {
                // Another process created it first: use theirs.
            }
        }
        let text = try KeyFile.read(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let secret = Base64URL.decode(text), secret.count >= 32 else {
            throw RunnerError("\(path) is not a valid environment token key")
        }
        return await EnvironmentTokens(secret: secret)
    }

    public func issue(for grant: EnvironmentGrant, now: Date = Date()) async throws -> String {
        try await keys.sign(Claims(sub: .init(value: grant.id), aud: .init(value: [Self.audience]), iat: .init(value: now),
                                   exp: .init(value: grant.expiresAt), url: grant.cloneURL))
    }

    /// The environment a token names; nil when it is forged, expired or not an environment token.
    public func verify(_ token: String) async -> Environment? {
        guard token.utf8.count <= 4096, let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        return Environment(id: claims.sub.value, cloneURL: claims.url, expiresAt: claims.exp.value)
    }
}
