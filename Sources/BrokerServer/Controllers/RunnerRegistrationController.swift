import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import SCMProviders

/// `POST /runner/v1/register`: a pending runner proves it holds a registration token and
/// hands over its public keys (RSA for sealing, Ed25519 for signing).
struct RunnerRegistrationController {
    let store: any RunnerStore
    let clock: BrokerClock

    func addRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("register", use: register)
    }

    @Sendable func register(_ request: Request, context: BrokerRequestContext) async throws -> JSONResponse<RegistrationReceipt> {
        let body = try await request.jsonObject()
        try body.allowOnly(["registration_token", "encryption_key", "signing_key"])
        let token = try body.requiredString("registration_token")
        // Keys are checked before the token is spent, so a runner that sent a bad key can retry.
        let encryptionKey = try Self.publicKey(body, "encryption_key") { try RSAPublicKey(jwk: $0).jwk }
        let signingKey = try Self.publicKey(body, "signing_key") { try Ed25519PublicKey(jwk: $0).jwk }
        guard token.hasPrefix(IssuedToken.registrationPrefix),
              let runner = try await store.completeRegistration(
                tokenHash: SHA256.hex(token), encryptionKey: encryptionKey, signingKey: signingKey, at: clock.now)
        else {
            throw APIError(.unauthorized, code: .unauthorized, "the registration token is unknown, used or expired")
        }
        context.logger.info("runner registered", metadata: [
            "runner.id": "\(runner.id)", "encryption_key.id": "\(encryptionKey.keyID)", "signing_key.id": "\(signingKey.keyID)",
        ])
        return JSONResponse(RegistrationReceipt(runnerID: runner.id), status: .created)
    }

    /// Parses a public JWK through the crypto module, which also canonicalises it (only the
    /// public members are kept, and the thumbprint is computed from those).
    private static func publicKey(_ body: JSONObjectReader, _ field: String, parse: (JWK) throws -> JWK) throws -> RunnerPublicKey {
        guard let value = body.value(field) else { throw APIError.invalidRequest("missing field `\(field)`") }
        guard case .object = value, let jwk = try? StrictJSONDecoder().decode(JWK.self, from: value) else {
            throw APIError.invalidRequest("`\(field)` must be a JWK object")
        }
        do {
            let canonical = try parse(jwk)
            return RunnerPublicKey(keyID: try canonical.thumbprint(), jwk: canonical.jsonString())
        } catch let error as CryptoError {
            throw APIError.invalidRequest("`\(field)`: \(error.message)")
        }
    }
}
