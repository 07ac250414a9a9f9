import BrokerCore
import BrokerProtocol
import Foundation
import GRDB

extension SQLiteStore {
    /// Grants are kept this long after they end, for `GET` and the clone path's "expired" answer.
    static let endedGrantRetention: TimeInterval = 7 * 24 * 3600

    public func insertCloneGrant(_ grant: CloneGrant, audit: AuditEvent) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM clone_grants WHERE expires_at < ?",
                           arguments: [grant.createdAt.addingTimeInterval(-Self.endedGrantRetention).timeIntervalSince1970])
            try db.execute(sql: """
                INSERT INTO clone_grants (id, runner_id, integration_id, user_name, repository_url, clone_url, access, credential_mode,
                    created_at, expires_at, revoked_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    grant.id, grant.runnerID, grant.integrationID, grant.user, grant.repositoryURL, grant.cloneURL, grant.access.rawValue,
                    grant.credentialMode.rawValue, grant.createdAt.timeIntervalSince1970, grant.expiresAt.timeIntervalSince1970,
                    grant.revokedAt?.timeIntervalSince1970,
                ])
            try Self.insert(audit, db)
        }
    }

    public func cloneGrant(id: String) async throws -> CloneGrant? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM clone_grants WHERE id = ?", arguments: [id]).flatMap(Self.cloneGrant)
        }
    }

    public func revokeCloneGrant(id: String, now: Date, audit: AuditEvent) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE clone_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                           arguments: [now.timeIntervalSince1970, id])
            guard db.changesCount == 1 else { return false }
            try Self.insert(audit, db)
            return true
        }
    }

    // MARK: OAuth refresh

    public func acquireRefreshLease(connectionID: String, runnerID: String, version: Int, leaseID: String, duration: TimeInterval,
                                    now: Date) async throws -> RefreshLeaseOutcome {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ? AND runner_id = ?",
                                             arguments: [connectionID, runnerID]),
                  let connection = Self.connection(row)
            else { return .notFound }
            if connection.status == .needsReconnect { return .needsReconnect(reason: connection.statusReason) }
            guard connection.version == version else { return .versionChanged(current: connection.version) }
            if let until = Self.date(row["refresh_lease_expires_at"]), until > now, (row["refresh_lease_id"] as String?) != nil {
                return .held(until: until)
            }
            let expiresAt = now.addingTimeInterval(duration)
            try db.execute(sql: "UPDATE connections SET refresh_lease_id = ?, refresh_lease_expires_at = ? WHERE id = ?",
                           arguments: [leaseID, expiresAt.timeIntervalSince1970, connectionID])
            return .acquired(expiresAt: expiresAt)
        }
    }

    public func completeRefresh(connectionID: String, runnerID: String, leaseID: String, outcome: RefreshOutcome, now: Date,
                                audit: AuditEvent) async throws -> Int? {
        try await write { db in
            // Only the holder may end its lease; once another process took a new one, this
            // result is stale (the version it read may have moved on).
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ? AND runner_id = ? AND refresh_lease_id = ?",
                                             arguments: [connectionID, runnerID, leaseID]),
                let connection = Self.connection(row)
            else { return nil }
            var version = connection.version
            switch outcome {
            case .refreshed(let credentials, let expiresAt, let scopes):
                version += 1
                let scopesJSON = String(decoding: (try? JSONEncoder().encode(scopes)) ?? Data("[]".utf8), as: UTF8.self)
                try db.execute(sql: """
                    UPDATE connections SET credentials_jwe = ?, credentials_key_id = ?, credentials_updated_at = ?, expires_at = ?,
                        scopes = ?, version = ?, refresh_lease_id = NULL, refresh_lease_expires_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, arguments: [credentials.jwe, credentials.keyID, credentials.updatedAt.timeIntervalSince1970,
                                     expiresAt?.timeIntervalSince1970, scopesJSON, version, now.timeIntervalSince1970, connectionID])
            case .permanentFailure(let reason):
                try db.execute(sql: """
                    UPDATE connections SET status = 'needs_reconnect', status_reason = ?, refresh_lease_id = NULL,
                        refresh_lease_expires_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, arguments: [reason, now.timeIntervalSince1970, connectionID])
            case .transientFailure:
                try db.execute(sql: "UPDATE connections SET refresh_lease_id = NULL, refresh_lease_expires_at = NULL WHERE id = ?",
                               arguments: [connectionID])
            }
            try Self.insert(audit, db)
            return version
        }
    }

    // MARK: Audit

    public func appendAudit(_ event: AuditEvent) async throws {
        try await write { db in try Self.insert(event, db) }
    }

    public func auditEvents(_ query: AuditQuery) async throws -> [AuditEvent] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let user = query.user {
            conditions.append("user_name = ?")
            arguments += [user]
        }
        if let runnerID = query.runnerID {
            conditions.append("runner_id = ?")
            arguments += [runnerID]
        }
        if let since = query.since {
            conditions.append("time >= ?")
            arguments += [since.timeIntervalSince1970]
        }
        if let after = query.after {
            conditions.append("sequence > ?")
            arguments += [after]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [max(0, query.limit)]
        let sql = "SELECT * FROM audit_events \(whereClause) ORDER BY sequence LIMIT ?"
        let bound = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: bound).compactMap(Self.auditEvent)
        }
    }

    static func insert(_ event: AuditEvent, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO audit_events (time, action, outcome, runner_id, environment_id, user_name, repository_url, access,
                integration_id, connection_id, reason)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                event.time.timeIntervalSince1970, event.action.rawValue, event.outcome.rawValue, event.runnerID, event.environmentID,
                event.user, event.repositoryURL, event.access?.rawValue, event.integrationID, event.connectionID, event.reason,
            ])
    }

    static func auditEvent(_ row: Row) -> AuditEvent? {
        guard let action = AuditEvent.Action(rawValue: row["action"]), let outcome = AuditEvent.Outcome(rawValue: row["outcome"]) else {
            return nil
        }
        var event = AuditEvent(
            time: date(row["time"])!, action: action, outcome: outcome, runnerID: row["runner_id"], environmentID: row["environment_id"],
            user: row["user_name"], repositoryURL: row["repository_url"],
            access: (row["access"] as String?).flatMap(CloneGrant.Access.init(rawValue:)),
            integrationID: row["integration_id"], connectionID: row["connection_id"], reason: row["reason"])
        event.sequence = row["sequence"]
        return event
    }

    static func cloneGrant(_ row: Row) -> CloneGrant? {
        guard let access = CloneGrant.Access(rawValue: row["access"]), let mode = CredentialMode(rawValue: row["credential_mode"]) else {
            return nil
        }
        return CloneGrant(
            id: row["id"], runnerID: row["runner_id"], integrationID: row["integration_id"], user: row["user_name"],
            repositoryURL: row["repository_url"], cloneURL: row["clone_url"], access: access, credentialMode: mode,
            createdAt: date(row["created_at"])!, expiresAt: date(row["expires_at"])!, revokedAt: date(row["revoked_at"]))
    }
}
