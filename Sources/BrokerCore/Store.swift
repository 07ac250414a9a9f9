import Foundation

/// Everything the broker persists. Each method is one transaction: it either happens whole or
/// not at all. Implementations: SQLite (embedded default); more to come (PostgreSQL). Every
/// implementation must pass the shared store conformance suite.
public protocol Store: ConnectStore, EnvironmentStore {
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
    /// Deletes an integration and what belongs to it: its connections (queueing the revocation of
    /// their tokens, with what the runner needs of the integration in the job), flows and tickets;
    /// exchanges still queued for it are withdrawn.
    func deleteIntegration(id: String, now: Date) async throws -> Bool
}

/// The browser connect flow, jobs and connections.
public protocol ConnectStore: Sendable {
    // MARK: Service tokens
    func insertServiceToken(_ token: ServiceToken) async throws
    func serviceToken(hash: String) async throws -> ServiceToken?
    func serviceTokens() async throws -> [ServiceToken]
    func deleteServiceToken(id: String) async throws -> Bool

    // MARK: Connect tickets and flows
    /// Stores a ticket and forgets expired ones. An integration that no longer exists is `notFound`.
    func insertConnectTicket(_ ticket: ConnectTicket, now: Date) async throws
    /// Spends an unexpired ticket for `flow.integrationID` and stores `flow` for the ticket's
    /// user, atomically. Returns nil (and changes nothing) when the ticket is unknown, spent,
    /// expired or for another integration.
    func startFlow(ticketHash: String, flow: ConnectFlow, now: Date) async throws -> ConnectFlow?
    func flow(id: String) async throws -> ConnectFlow?
    func flow(stateHash: String) async throws -> ConnectFlow?
    /// Moves a `started` flow to `exchanging` and queues its exchange job, atomically. False
    /// when the flow is not `started` any more (its state was used).
    func beginExchange(flowID: String, job: Job, now: Date) async throws -> Bool
    /// Fails a `started` flow (the user declined, the SCM refused). False when not `started`.
    func failStartedFlow(id: String, failure: FlowFailure, now: Date) async throws -> Bool
    /// Fails an `exchanging` flow whose job no runner holds (never leased, or its lease ran out)
    /// and cancels the job, so a runner that comes back later does not use the code. False when
    /// a runner holds the job.
    func abandonUnclaimedExchange(flowID: String, failure: FlowFailure, now: Date) async throws -> Bool
    /// Queues a new exchange job for a flow that failed with `failureCode`, restarting the wait
    /// for the runner (`callbackAt` becomes `now`). False otherwise.
    func retryExchange(flowID: String, failureCode: String, job: Job, now: Date) async throws -> Bool

    /// Starts a `failed` flow again with a new state and PKCE verifier (the same browser trying
    /// again within the flow's lifetime). False when the flow is not `failed`.
    func restartFlow(id: String, stateHash: String, sealedCodeVerifier: String?, now: Date) async throws -> Bool

    /// Replaces the hash of the PAT form's CSRF token of a `started` or `failed` flow (each
    /// rendering of the form has its own). False otherwise.
    func setFlowState(id: String, stateHash: String) async throws -> Bool
    /// Submits a PAT: moves a `started` or `failed` PAT flow whose CSRF hash is `stateHash` to
    /// `exchanging` with a new (unusable) state and queues the validation job, atomically.
    func beginPATValidation(flowID: String, stateHash: String, newStateHash: String, job: Job, now: Date) async throws -> Bool

    // MARK: Jobs
    func enqueueJob(_ job: Job) async throws
    func job(id: String) async throws -> Job?
    /// Leases up to `limit` of the runner's jobs that are queued or whose lease ran out, oldest
    /// first. A job whose lease ran out `Job.maximumAttempts` times is given up (its flow fails).
    /// Finished jobs are forgotten a day after they finish (checked when a job completes).
    func leaseJobs(runnerID: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [Job]
    /// Records a runner's result once. For an exchange, stores the connection (replacing the
    /// user's older one for the integration, whose revocation is queued) and settles the flow.
    func completeJob(id: String, runnerID: String, outcome: JobOutcome, now: Date) async throws -> JobCompletion

    /// Forgets jobs whose answers were read (credential validations).
    func deleteJobs(ids: [String]) async throws

    // MARK: Organization credentials
    /// Sets the integration's credential mode and replaces its organization credentials (the
    /// old ones are deleted) if the integration is still the version read; see `updateIntegration`.
    func setCredentialMode(integrationID: String, mode: CredentialMode, credentials: [OrganizationCredential],
                           expectedUpdatedAt: Date, updatedAt: Date) async throws
    func organizationCredentials(integrationID: String) async throws -> [OrganizationCredential]
    /// The next organization credential in turn: the least recently used one that is not rate
    /// limited at `now` (marked used). Nil when there is none or all are limited.
    func pickOrganizationCredential(integrationID: String, now: Date) async throws -> OrganizationCredential?
    func markOrganizationCredentialRateLimited(id: String, until: Date) async throws

    // MARK: Connections
    func connections(user: String) async throws -> [Connection]
    func connection(id: String) async throws -> Connection?
    /// Deletes the user's connection and, for OAuth connections, queues the revocation of its
    /// tokens, atomically (a PAT has no revocation endpoint; its owner deletes it at the SCM).
    func deleteConnection(id: String, user: String, now: Date) async throws -> Bool
}
