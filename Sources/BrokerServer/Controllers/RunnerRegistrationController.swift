import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird
import Logging

/// `POST /runner/v1/register`: a pending runner proves it holds a registration token and
/// hands over its public keys (RSA for sealing, Ed25519 for signing).
struct RunnerRegistrationController {
    let store: any Store
    let clock: BrokerClock

    func addRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("register", use: register)
    }

    struct Registered: Encodable {
        var runnerID: String
    }

    @Sendable func register(_ request: Request, context: BrokerRequestContext) async throws -> JSONResponse<Registered> {
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
            throw APIError(.unauthorized, code: "unauthorized", "the registration token is unknown, used or expired")
        }
        context.logger.info("runner registered", metadata: [
            "runner.id": "\(runner.id)", "encryption_key.id": "\(encryptionKey.keyID)", "signing_key.id": "\(signingKey.keyID)",
        ])
        return JSONResponse(Registered(runnerID: runner.id), status: .created)
    }

    /// Parses a public JWK through the crypto module, which also canonicalises it (only the
    /// public members are kept, and the thumbprint is computed from those).
    private static func publicKey(_ body: JSONObjectReader, _ field: String, parse: (JWK) throws -> JWK) throws -> RunnerPublicKey {
        guard let value = body.value(field) else { throw APIError.invalidRequest("missing field `\(field)`") }
        guard case .object = value, let data = try? JSONEncoderForValue.encode(value),
              let jwk = try? JSONDecoder().decode(JWK.self, from: data)
        else { throw APIError.invalidRequest("`\(field)` must be a JWK object") }
        do {
            let canonical = try parse(jwk)
            return RunnerPublicKey(keyID: try canonical.thumbprint(), jwk: canonical.jsonString())
        } catch let error as CryptoError {
            throw APIError.invalidRequest("`\(field)`: \(error.message)")
        }
    }
}

/// Re-encodes a parsed JSON value (for handing a sub-object to a Decodable type).
enum JSONEncoderForValue {
    static func encode(_ value: JSONValue) throws -> Data {
        try JSONSerialization.data(withJSONObject: foundationObject(value), options: [.fragmentsAllowed])
    }

    private static func foundationObject(_ value: JSONValue) -> Any {
        switch value {
        case .null: NSNull()
        case .bool(let bool): bool
        case .number(let number): number
        case .string(let string): string
        case .array(let array): array.map(foundationObject)
        case .object(let object): object.mapValues(foundationObject)
        }
    }
}
