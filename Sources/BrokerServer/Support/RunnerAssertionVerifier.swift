import BrokerCore
import BrokerCrypto
import Foundation
import JWTKit

/// The claims of a runner's client assertion (RFC 7523 §3).
struct RunnerAssertion: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?

    /// Time claims are checked by `RunnerAssertionVerifier` against the broker's clock.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Verifies a runner's client assertion and returns the runner id. Every refusal is an
/// `invalid_client` OAuth error whose description says what was wrong (never the token).
struct RunnerAssertionVerifier {
    /// RFC 7523 lets the server bound how far ahead `exp` may be; ours is 5 minutes.
    static let maximumLifetime: TimeInterval = 300
    /// Tolerated clock difference between runner and broker.
    static let clockSkew: TimeInterval = 30
    static let maximumAssertionLength = 8 * 1024

    let store: any RunnerStore
    let clock: BrokerClock
    let audience: String

    func verify(_ assertion: String) async throws -> String {
        guard assertion.utf8.count <= Self.maximumAssertionLength else { throw OAuthError.invalidClient("assertion too large") }
        try Self.requireEdDSAHeader(assertion)
        let unverified: RunnerAssertion
        do {
            unverified = try await JWTKeyCollection().unverified(assertion, as: RunnerAssertion.self)
        } catch {
            throw OAuthError.invalidClient("the assertion is not a JWT with the required claims (iss, sub, aud, exp, jti)")
        }
        let runnerID = unverified.iss.value
        guard unverified.sub.value == runnerID else { throw OAuthError.invalidClient("iss and sub must both be the runner id") }
        guard let runner = try await store.runner(id: runnerID), runner.status == .registered, let signingKey = runner.signingKey,
              let x = try? JWK(jsonString: signingKey.jwk).x
        else { throw OAuthError.invalidClient("unknown or unregistered runner") }

        let claims: RunnerAssertion
        do {
            let keys = JWTKeyCollection()
            await keys.add(eddsa: try EdDSA.PublicKey(x: x, curve: .ed25519))
            claims = try await keys.verify(assertion, as: RunnerAssertion.self)
        } catch {
            throw OAuthError.invalidClient("the assertion's signature does not verify with the runner's registered key")
        }
        try checkClaims(claims)
        let recorded = try await store.recordAssertion(
            runnerID: runnerID, jti: claims.jti.value, expiresAt: claims.exp.value.addingTimeInterval(Self.clockSkew), now: clock.now)
        guard recorded else { throw OAuthError.invalidClient("the assertion was already used (jti replayed)") }
        return runnerID
    }

    private func checkClaims(_ claims: RunnerAssertion) throws {
        let now = clock.now
        guard claims.aud.value == [audience] else { throw OAuthError.invalidClient("aud must be \(audience)") }
        guard claims.exp.value > now.addingTimeInterval(-Self.clockSkew) else { throw OAuthError.invalidClient("the assertion has expired") }
        guard claims.exp.value <= now.addingTimeInterval(Self.maximumLifetime + Self.clockSkew) else {
            throw OAuthError.invalidClient("exp may be at most 5 minutes ahead")
        }
        if let iat = claims.iat?.value, iat > now.addingTimeInterval(Self.clockSkew) {
            throw OAuthError.invalidClient("the assertion is dated in the future (iat)")
        }
        if let nbf = claims.nbf?.value, nbf > now.addingTimeInterval(Self.clockSkew) {
            throw OAuthError.invalidClient("the assertion is not valid yet (nbf)")
        }
        guard (1...128).contains(claims.jti.value.utf8.count) else { throw OAuthError.invalidClient("jti must be 1–128 characters") }
    }

    /// Only EdDSA is acceptable; refusing anything else up front (`none`, HMAC…) closes the
    /// classic algorithm-confusion doors whatever the JWT library would do.
    private static func requireEdDSAHeader(_ assertion: String) throws {
        let segments = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let bytes = Base64URL.decode(segments[0]),
              let header = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        else { throw OAuthError.invalidClient("the assertion is not a compact JWS") }
        guard header["alg"] as? String == "EdDSA" else { throw OAuthError.invalidClient("the assertion must be signed with EdDSA (Ed25519)") }
        guard header["crit"] == nil else { throw OAuthError.invalidClient("critical header extensions are not supported") }
    }
}
