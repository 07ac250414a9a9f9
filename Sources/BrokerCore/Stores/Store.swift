import BrokerProtocol
import Foundation

/// Everything the broker persists, as one protocol per aggregate; a store implements them all
/// (SQLite, the embedded default; PostgreSQL for several brokers) and must pass the shared
/// conformance suite. Controllers depend only on the aggregates they use.
///
/// Conventions every implementation keeps, so callers read outcomes one way:
/// - Each method is one transaction: it happens whole or not at all.
/// - A lookup returns an optional: nil when there is no such thing.
/// - An insert whose precondition fails throws `StoreError` (`conflict` for a name in use,
///   `notFound` for what it refers to being gone).
/// - A conditional change (a state transition, a single-use spend, a delete) returns whether it
///   happened: `false` (or nil, where it returns what it produced) means the condition did not
///   hold and nothing changed.
/// - An operation with several outcomes a caller must tell apart returns an outcome enum.
public protocol Store: AdminTokenStore, RunnerStore, IntegrationStore, OrganizationCredentialStore, ServiceTokenStore,
    ConnectFlowStore, JobQueue, ConnectionStore, EnvironmentStore, AuditLog, StoreHealth {}

/// Admin tokens (stored hashed).
public protocol AdminTokenStore: Sendable {
    func insertAdminToken(_ token: AdminToken) async throws
    func adminToken(hash: String) async throws -> AdminToken?
    func adminTokenCount() async throws -> Int
}

/// Runners, their registration and their authentication.
public protocol RunnerStore: Sendable {
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

    /// Remembers a client assertion's `jti` until it expires. Returns false when this runner
    /// already used it (a replay). Forgets expired ones.
    func recordAssertion(runnerID: String, jti: String, expiresAt: Date, now: Date) async throws -> Bool
    /// Stores an access token (its hash) and forgets expired ones.
    func insertRunnerAccessToken(_ token: RunnerAccessToken, now: Date) async throws
    func runnerAccessToken(hash: String) async throws -> RunnerAccessToken?
}

/// SCM integrations of runners.
public protocol IntegrationStore: Sendable {
    /// A name in use for the runner is a `conflict`; a runner that no longer exists is `notFound`.
    func insertIntegration(_ integration: Integration) async throws
    func integration(id: String) async throws -> Integration?
    func integrations(runnerID: String) async throws -> [Integration]
    /// Replaces the stored integration with the same id if it is still the version read
    /// (`updatedAt == expectedUpdatedAt`): `notFound` when it is gone, `conflict` when another
    /// update came first, so concurrent PATCHes cannot silently undo a secret rotation.
    func updateIntegration(_ integration: Integration, expectedUpdatedAt: Date) async throws
    /// Deletes an integration and what belongs to it: its connections (queueing the revocation of
    /// their tokens, with what the runner needs of the integration in the job), flows and tickets;
    /// exchanges still queued for it are withdrawn. False when there was no such integration.
    func deleteIntegration(id: String, now: Date) async throws -> Bool
}

/// Organization-managed credentials of an integration.
public protocol OrganizationCredentialStore: Sendable {
    /// Sets the integration's credential mode and replaces its organization credentials (the
    /// old ones are deleted) if the integration is still the version read; see `updateIntegration`.
    func setCredentialMode(integrationID: String, mode: CredentialMode, credentials: [OrganizationCredential],
                           expectedUpdatedAt: Date, updatedAt: Date) async throws
    func organizationCredentials(integrationID: String) async throws -> [OrganizationCredential]
    /// The next organization credential in turn: the least recently used one that is not rate
    /// limited at `now` (marked used). Nil when there is none or all are limited.
    func pickOrganizationCredential(integrationID: String, now: Date) async throws -> OrganizationCredential?
    func markOrganizationCredentialRateLimited(id: String, until: Date) async throws
}

/// Tokens of the environment service (stored hashed).
public protocol ServiceTokenStore: Sendable {
    func insertServiceToken(_ token: ServiceToken) async throws
    func serviceToken(hash: String) async throws -> ServiceToken?
    func serviceTokens() async throws -> [ServiceToken]
    func deleteServiceToken(id: String) async throws -> Bool
}
