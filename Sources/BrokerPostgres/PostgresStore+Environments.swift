import BrokerCore
import BrokerProtocol
import Foundation

extension PostgresStore {
    /// Grants are kept this long after they end, for `GET` and the clone path's "expired" answer.
    static let endedGrantRetention: TimeInterval = 7 * 24 * 3600

    public func insertCloneGrant(_ grant: CloneGrant, audit: AuditEvent) async throws {
        try await write { db in
            try await db.execute("""
                INSERT INTO clone_grants (id, runner_id, integration_id, user_name, repository_url, clone_url, access, credential_mode,
                    created_at, expires_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [
                    grant.id, grant.runnerID, grant.integrationID, grant.user, grant.repositoryURL, grant.cloneURL, grant.access.rawValue,
                    grant.credentialMode.rawValue, grant.createdAt, grant.expiresAt, grant.revokedAt,
                ])
            try await Self.insert(audit, db)
        }
        await cleanUp("DELETE FROM clone_grants WHERE expires_at < ?", [grant.createdAt.addingTimeInterval(-Self.endedGrantRetention)])
    }

    public func cloneGrant(id: String) async throws -> CloneGrant? {
        try await read { db in try await db.fetchOne("SELECT * FROM clone_grants WHERE id = ?", [id]).flatMap(Self.cloneGrant) }
    }

    public func revokeCloneGrant(id: String, now: Date, audit: AuditEvent) async throws -> Bool {
        try await write { db in
            guard try await db.execute("UPDATE clone_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now, id]) == 1 else {
                return false
            }
            try await Self.insert(audit, db)
            return true
        }
    }

    // MARK: Audit

    public func appendAudit(_ event: AuditEvent) async throws {
        try await write { db in try await Self.insert(event, db) }
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var conditions: [String] = []
        var arguments: [any SQLBindable] = []
        if let user = query.user {
            conditions.append("user_name = ?")
            arguments.append(user)
        }
        if let runnerID = query.runnerID {
            conditions.append("runner_id = ?")
            arguments.append(runnerID)
        }
        if let since = query.since {
            conditions.append("time >= ?")
            arguments.append(since)
        }
        if let after = query.after {
            conditions.append("sequence > ?")
            arguments.append(after)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(max(0, query.limit))
        let sql = "SELECT * FROM audit_events \(whereClause) ORDER BY sequence LIMIT ?"
        let bound = arguments
        return try await read { db in try await db.fetchAll(sql, bound).compactMap(Self.auditEvent) }
    }

    /// Serialises audit-writing transactions (held until commit): identity values are handed out
    /// at insert, so without it a reader paging with `after` could pass an event whose
    /// transaction commits later with a lower sequence. SQLite's single writer gives this order.
    static let auditLock = 0x5343_4D42_524B_0002

    static func insert(_ event: AuditEvent, _ db: SQLSession) async throws {
        try await db.execute("SELECT pg_advisory_xact_lock(?)", [auditLock])
        try await db.execute("""
            INSERT INTO audit_events (time, action, outcome, runner_id, environment_id, user_name, repository_url, access,
                integration_id, connection_id, reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                event.time, event.action.rawValue, event.outcome.rawValue, event.runnerID, event.environmentID,
                event.user, event.repositoryURL, event.access?.rawValue, event.integrationID, event.connectionID, event.reason,
            ])
    }

    static func auditEvent(_ row: SQLRow) throws -> AuditEvent? {
        guard let action = AuditEvent.Action(rawValue: try row["action"]), let outcome = AuditEvent.Outcome(rawValue: try row["outcome"]) else {
            return nil
        }
        var event = AuditEvent(
            time: try row.date("time"), action: action, outcome: outcome, runnerID: try row["runner_id"],
            environmentID: try row["environment_id"], user: try row["user_name"], repositoryURL: try row["repository_url"],
            access: (try row["access"] as String?).flatMap(CloneGrant.Access.init(rawValue:)),
            integrationID: try row["integration_id"], connectionID: try row["connection_id"], reason: try row["reason"])
        event.sequence = try row["sequence"]
        return event
    }

    static func cloneGrant(_ row: SQLRow) throws -> CloneGrant? {
        guard let access = CloneGrant.Access(rawValue: try row["access"]), let mode = CredentialMode(rawValue: try row["credential_mode"]) else {
            return nil
        }
        return CloneGrant(
            id: try row["id"], runnerID: try row["runner_id"], integrationID: try row["integration_id"], user: try row["user_name"],
            repositoryURL: try row["repository_url"], cloneURL: try row["clone_url"], access: access, credentialMode: mode,
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), revokedAt: try row.optionalDate("revoked_at"))
    }
}
