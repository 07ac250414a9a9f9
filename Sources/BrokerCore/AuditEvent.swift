import Foundation

/// One entry of the append-only audit log: who got (or was refused) what, when and why.
/// Never holds a secret: reasons are stable codes, not SCM text.
public struct AuditEvent: Sendable, Equatable {
    public enum Action: String, Sendable, Codable, CaseIterable {
        /// An environment (clone grant) was created or refused.
        case environmentCreated = "environment.created"
        case environmentRefused = "environment.refused"
        case environmentRevoked = "environment.revoked"
        /// A runner was handed (or refused) the sealed credential for an environment.
        case credentialIssued = "credential.issued"
        case credentialRefused = "credential.refused"
        /// A runner refreshed a connection's OAuth token, or failed to.
        case tokenRefreshed = "token.refreshed"
        case tokenRefreshFailed = "token.refresh_failed"
    }

    public enum Outcome: String, Sendable, Codable {
        case success, refused, failed
    }

    /// Assigned by the store, increasing in insertion order.
    public var sequence: Int64?
    public var time: Date
    public var action: Action
    public var outcome: Outcome
    public var runnerID: String?
    public var environmentID: String?
    public var user: String?
    public var repositoryURL: String?
    public var access: CloneGrant.Access?
    public var integrationID: String?
    public var connectionID: String?
    /// A stable code (`no_integration`, `grant_expired`, `invalid_grant`, …) or a short fixed text.
    public var reason: String?

    public init(time: Date, action: Action, outcome: Outcome, runnerID: String? = nil, environmentID: String? = nil, user: String? = nil,
                repositoryURL: String? = nil, access: CloneGrant.Access? = nil, integrationID: String? = nil,
                connectionID: String? = nil, reason: String? = nil) {
        self.time = time
        self.action = action
        self.outcome = outcome
        self.runnerID = runnerID
        self.environmentID = environmentID
        self.user = user
        self.repositoryURL = repositoryURL
        self.access = access
        self.integrationID = integrationID
        self.connectionID = connectionID
        self.reason = reason
    }

    /// An event about `grant`.
    public static func about(_ grant: CloneGrant, action: Action, outcome: Outcome, time: Date, connectionID: String? = nil,
                             reason: String? = nil) -> AuditEvent {
        AuditEvent(time: time, action: action, outcome: outcome, runnerID: grant.runnerID, environmentID: grant.id, user: grant.user,
                   repositoryURL: grant.repositoryURL, access: grant.access, integrationID: grant.integrationID,
                   connectionID: connectionID, reason: reason)
    }
}

/// Which audit events to read.
public struct AuditQuery: Sendable, Equatable {
    public var user: String?
    public var runnerID: String?
    public var since: Date?
    /// Events after this sequence number (paging).
    public var after: Int64?
    public var limit: Int

    public init(user: String? = nil, runnerID: String? = nil, since: Date? = nil, after: Int64? = nil, limit: Int = 100) {
        self.user = user
        self.runnerID = runnerID
        self.since = since
        self.after = after
        self.limit = limit
    }
}
