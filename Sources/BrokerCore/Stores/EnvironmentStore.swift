import Foundation

/// Environments' clone grants.
public protocol EnvironmentStore: Sendable {
    /// Stores a grant and its audit event together. An integration that no longer exists is `notFound`.
    func insertCloneGrant(_ grant: CloneGrant, audit: AuditEvent) async throws
    func cloneGrant(id: String) async throws -> CloneGrant?
    /// Revokes an active grant and records `audit`, atomically. False when there is no such
    /// grant or it was already revoked.
    func revokeCloneGrant(id: String, now: Date, audit: AuditEvent) async throws -> Bool
}

/// The append-only audit log.
public protocol AuditLog: Sendable {
    func appendAudit(_ event: AuditEvent) async throws
    /// Events matching `query`, oldest first.
    func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent]
}
