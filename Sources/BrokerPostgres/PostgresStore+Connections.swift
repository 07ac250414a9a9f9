import BrokerCore
import Foundation

extension PostgresStore {
    public func connections(user: String) async throws -> [Connection] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM connections WHERE user_name = ? ORDER BY created_at, id", [user]).compactMap(Self.connection)
        }
    }

    public func connection(id: String) async throws -> Connection? {
        try await read { db in try await db.fetchOne("SELECT * FROM connections WHERE id = ?", [id]).flatMap(Self.connection) }
    }

    public func deleteConnection(id: String, user: String, now: Date) async throws -> Bool {
        try await write { db in
            guard let existing = try await db.fetchOne("SELECT * FROM connections WHERE id = ? AND user_name = ?", [id, user])
                .flatMap(Self.connection)
            else { return false }
            try await db.execute("DELETE FROM connections WHERE id = ?", [id])
            // PATs have no revocation endpoint: the user deletes them at the SCM.
            if existing.kind == .oauth { try await Self.insert(Job.revocation(of: existing, id: UUID().uuidString.lowercased(), now: now), db) }
            return true
        }
    }

    /// Stores `connection`, replacing the user's older one for the same integration and
    /// queueing the revocation of the older tokens.
    static func replaceConnection(_ connection: Connection, now: Date, _ db: SQLSession) async throws {
        if let older = try await db.fetchOne("SELECT * FROM connections WHERE user_name = ? AND integration_id = ?",
                                             [connection.user, connection.integrationID]).flatMap(Self.connection) {
            try await db.execute("DELETE FROM connections WHERE id = ?", [older.id])
            if older.kind == .oauth { try await insert(Job.revocation(of: older, id: UUID().uuidString.lowercased(), now: now), db) }
        }
        try await db.execute("""
            INSERT INTO connections (id, user_name, integration_id, runner_id, kind, scm_user_id, scm_username, scm_display_name,
                credentials_jwe, credentials_key_id, credentials_updated_at, scopes, expires_at, status, status_reason, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                connection.id, connection.user, connection.integrationID, connection.runnerID, connection.kind.rawValue,
                connection.scmUser.id, connection.scmUser.username, connection.scmUser.displayName,
                connection.credentials.jwe, connection.credentials.keyID, connection.credentials.updatedAt,
                JSONStrings(connection.scopes), connection.expiresAt, connection.status.rawValue, connection.statusReason,
                connection.createdAt, connection.updatedAt,
            ])
    }

    static func connection(_ row: SQLRow) throws -> Connection? {
        guard let kind = Connection.Kind(rawValue: try row["kind"]), let status = Connection.Status(rawValue: try row["status"]) else { return nil }
        return Connection(
            id: try row["id"], user: try row["user_name"], integrationID: try row["integration_id"], runnerID: try row["runner_id"], kind: kind,
            scmUser: SCMUser(id: try row["scm_user_id"], username: try row["scm_username"], displayName: try row["scm_display_name"]),
            credentials: SealedSecret(jwe: try row["credentials_jwe"], keyID: try row["credentials_key_id"],
                                      updatedAt: try row.date("credentials_updated_at")),
            scopes: try row.strings("scopes"), expiresAt: try row.optionalDate("expires_at"), status: status,
            statusReason: try row["status_reason"], version: try row["version"], createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at"))
    }

    // MARK: OAuth refresh

    public func acquireRefreshLease(connectionID: String, runnerID: String, version: Int, leaseID: String, duration: TimeInterval,
                                    now: Date) async throws -> RefreshLeaseOutcome {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT * FROM connections WHERE id = ? AND runner_id = ?", [connectionID, runnerID]),
                  let connection = try Self.connection(row)
            else { return .notFound }
            if connection.status == .needsReconnect { return .needsReconnect(reason: connection.statusReason) }
            guard connection.version == version else { return .versionChanged(current: connection.version) }
            if let until = try row.optionalDate("refresh_lease_expires_at"), until > now, (try row["refresh_lease_id"] as String?) != nil {
                return .held(until: until)
            }
            let expiresAt = now.addingTimeInterval(duration)
            try await db.execute("UPDATE connections SET refresh_lease_id = ?, refresh_lease_expires_at = ? WHERE id = ?",
                                 [leaseID, expiresAt, connectionID])
            return .acquired(expiresAt: expiresAt)
        }
    }

    public func completeRefresh(connectionID: String, runnerID: String, leaseID: String, outcome: RefreshOutcome, now: Date,
                                audit: AuditEvent) async throws -> Int? {
        try await write { db in
            // Only the holder may end its lease; once another process took a new one, this
            // result is stale (the version it read may have moved on).
            guard let row = try await db.fetchOne("SELECT * FROM connections WHERE id = ? AND runner_id = ? AND refresh_lease_id = ?",
                                                  [connectionID, runnerID, leaseID]),
                  let connection = try Self.connection(row)
            else { return nil }
            var version = connection.version
            switch outcome {
            case .refreshed(let credentials, let expiresAt, let scopes):
                version += 1
                try await db.execute("""
                    UPDATE connections SET credentials_jwe = ?, credentials_key_id = ?, credentials_updated_at = ?, expires_at = ?,
                        scopes = ?, version = ?, refresh_lease_id = NULL, refresh_lease_expires_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, [credentials.jwe, credentials.keyID, credentials.updatedAt, expiresAt, JSONStrings(scopes), version, now, connectionID])
            case .permanentFailure(let reason):
                try await db.execute("""
                    UPDATE connections SET status = 'needs_reconnect', status_reason = ?, refresh_lease_id = NULL,
                        refresh_lease_expires_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, [reason, now, connectionID])
            case .transientFailure:
                try await db.execute("UPDATE connections SET refresh_lease_id = NULL, refresh_lease_expires_at = NULL WHERE id = ?",
                                     [connectionID])
            }
            try await Self.insert(audit, db)
            return version
        }
    }
}
