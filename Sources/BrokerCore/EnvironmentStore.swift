import Foundation

/// Clone grants, OAuth refresh leases and the audit log.
public protocol EnvironmentStore: Sendable {
    // MARK: Clone grants
    /// Stores a grant and its audit event together. An integration that no longer exists is `notFound`.
    func insertCloneGrant(_ grant: CloneGrant, audit: AuditEvent) async throws
    func cloneGrant(id: String) async throws -> CloneGrant?
    /// Revokes an active grant and records `audit`, atomically. False when there is no such
    /// grant or it was already revoked.
    func revokeCloneGrant(id: String, now: Date, audit: AuditEvent) async throws -> Bool

    // MARK: OAuth refresh
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

    // MARK: Audit
    func appendAudit(_ event: AuditEvent) async throws
    /// Events matching `query`, oldest first.
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]
}
