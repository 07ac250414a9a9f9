import Foundation

/// Connect tickets and the browser's connect flows (OAuth and PAT).
public protocol ConnectFlowStore: Sendable {
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
}

/// Work for runners: queued, leased to one runner process at a time, completed once.
public protocol JobQueue: Sendable {
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
}

/// Users' SCM connections and the single-flight refresh of their OAuth tokens.
public protocol ConnectionStore: Sendable {
    func connections(user: String) async throws -> [Connection]
    func connection(id: String) async throws -> Connection?
    /// Deletes the user's connection and, for OAuth connections, queues the revocation of its
    /// tokens, atomically (a PAT has no revocation endpoint; its owner deletes it at the SCM).
    func deleteConnection(id: String, user: String, now: Date) async throws -> Bool

    /// Grants `runnerID` the right to refresh the connection's token while its credentials are
    /// still `version`, unless another unexpired lease exists or the connection needs a reconnect.
    func acquireRefreshLease(connectionID: String, runnerID: String, version: Int, leaseID: String, duration: TimeInterval,
                             now: Date) async throws -> RefreshLeaseOutcome
    /// Ends a lease the runner holds: stores new credentials as the next version, marks the
    /// connection `needs_reconnect`, or just releases the lease; records `audit` with it.
    /// A lease that ran out still ends this way while nobody took a new one: the SCM may have
    /// rotated the refresh token already, and the new one must not be lost. Returns the
    /// connection's version afterwards, or nil when another process holds the lease now (or the
    /// connection is gone) and nothing changed.
    func completeRefresh(connectionID: String, runnerID: String, leaseID: String, outcome: RefreshOutcome, now: Date,
                         audit: AuditEvent) async throws -> Int?
}
