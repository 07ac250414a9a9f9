import BrokerCore
import BrokerCrypto
import Foundation

/// `scm-broker serve --with-runner NAME`: a runner agent inside the broker's process for
/// single-machine installs. Its keys stay in their own files (the broker process can read
/// them, which is exactly the trade-off a single-machine install makes); it registers itself
/// through the store instead of a registration token.
public enum ColocatedRunner {
    /// Returns the id of runner `name` registered with these public keys, registering it if
    /// it does not exist. A runner of that name with other keys is refused.
    public static func ensureRegistered(name: String, encryptionKey: RSAPublicKey, signingKey: Ed25519PublicKey,
                                        store: any RunnerStore, clock: BrokerClock = .system) async throws -> String {
        let encryption = RunnerPublicKey(keyID: encryptionKey.keyID, jwk: encryptionKey.jwk.jsonString())
        let signing = RunnerPublicKey(keyID: signingKey.keyID, jwk: signingKey.jwk.jsonString())
        if let existing = try await store.runners().first(where: { $0.name == name }) {
            guard existing.status == .registered, existing.encryptionKey?.keyID == encryption.keyID,
                  existing.signingKey?.keyID == signing.keyID
            else {
                throw ConfigurationError("a runner named \(name) already exists with other keys; delete it (DELETE /api/v1/runners/\(existing.id)) or choose another name")
            }
            return existing.id
        }
        let now = clock.now
        let runner = Runner(id: UUID().uuidString.lowercased(), name: name, status: .pending, createdAt: now)
        let (_, hash) = IssuedToken.make(prefix: IssuedToken.registrationPrefix)
        try await store.insertRunner(runner, registration: RegistrationToken(runnerID: runner.id, tokenHash: hash, expiresAt: now.addingTimeInterval(60)))
        guard let registered = try await store.completeRegistration(tokenHash: hash, encryptionKey: encryption, signingKey: signing, at: now) else {
            throw ConfigurationError("could not register the co-located runner \(name)")
        }
        return registered.id
    }
}
