import Foundation

/// Everything the broker persists. Each method is one transaction: it either happens whole or
/// not at all. Implementations: SQLite (embedded default); more to come (PostgreSQL). Every
/// implementation must pass the shared store conformance suite.
public protocol Store: Sendable {
    // MARK: Admin tokens
    func insertAdminToken(_ token: AdminToken) async throws
    func adminToken(hash: String) async throws -> AdminToken?
    func adminTokenCount() async throws -> Int

    // MARK: Runners
    /// Inserts a pending runner with its registration token. A name in use is a `conflict`.
    func insertRunner(_ runner: Runner, registration: RegistrationToken) async throws
    func runner(id: String) async throws -> Runner?
    func runners() async throws -> [Runner]
    /// Deletes a runner and everything that belongs to it (integrations and their sealed
    /// secrets, tokens). Returns false when there was no such runner.
    func deleteRunner(id: String) async throws -> Bool
    /// Consumes an unexpired registration token and records the runner's keys, atomically.
    /// Returns nil (and changes nothing) when the token is unknown, used or expired.
    func completeRegistration(tokenHash: String, encryptionKey: RunnerPublicKey, signingKey: RunnerPublicKey,
                              at now: Date) async throws -> Runner?
    func touchRunner(id: String, at now: Date) async throws

    // MARK: Runner authentication
    /// Remembers a client assertion's `jti` until it expires. Returns false when this runner
    /// already used it (a replay). Forgets expired ones.
    func recordAssertion(runnerID: String, jti: String, expiresAt: Date, now: Date) async throws -> Bool
    /// Stores an access token (its hash) and forgets expired ones.
    func insertRunnerAccessToken(_ token: RunnerAccessToken, now: Date) async throws
    func runnerAccessToken(hash: String) async throws -> RunnerAccessToken?

    // MARK: Integrations
    /// A name in use for the runner is a `conflict`; a runner that no longer exists is `notFound`.
    func insertIntegration(_ integration: Integration) async throws
    func integration(id: String) async throws -> Integration?
    func integrations(runnerID: String) async throws -> [Integration]
    /// Replaces the stored integration with the same id if it is still the version read
    /// (`updatedAt == expectedUpdatedAt`): `notFound` when it is gone, `conflict` when another
    /// update came first, so concurrent PATCHes cannot silently undo a secret rotation.
    func updateIntegration(_ integration: Integration, expectedUpdatedAt: Date) async throws
    func deleteIntegration(id: String) async throws -> Bool
}
