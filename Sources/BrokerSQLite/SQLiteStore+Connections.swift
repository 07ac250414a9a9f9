import BrokerCore
import Foundation
import GRDB

extension SQLiteStore {
    public func connections(user: String) async throws -> [Connection] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM connections WHERE user_name = ? ORDER BY created_at, id", arguments: [user])
                .compactMap(Self.connection)
        }
    }

    public func connection(id: String) async throws -> Connection? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ?", arguments: [id]).flatMap(Self.connection)
        }
    }

    public func deleteConnection(id: String, user: String, now: Date) async throws -> Bool {
        try await write { db in
            guard let existing = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE id = ? AND user_name = ?",
                                                  arguments: [id, user]).flatMap(Self.connection)
            else { return false }
            try db.execute(sql: "DELETE FROM connections WHERE id = ?", arguments: [id])
            // PATs have no revocation endpoint: the user deletes them at the SCM.
            if existing.kind == .oauth { try Self.insert(Job.revocation(of: existing, id: UUID().uuidString.lowercased(), now: now), db) }
            return true
        }
    }

    /// Stores `connection`, replacing the user's older one for the same integration and
    /// queueing the revocation of the older tokens.
    static func replaceConnection(_ connection: Connection, now: Date, _ db: Database) throws {
        if let older = try Row.fetchOne(db, sql: "SELECT * FROM connections WHERE user_name = ? AND integration_id = ?",
                                        arguments: [connection.user, connection.integrationID]).flatMap(Self.connection) {
            try db.execute(sql: "DELETE FROM connections WHERE id = ?", arguments: [older.id])
            if older.kind == .oauth { try insert(Job.revocation(of: older, id: UUID().uuidString.lowercased(), now: now), db) }
        }
        let scopes = String(decoding: (try? JSONEncoder().encode(connection.scopes)) ?? Data("[]".utf8), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO connections (id, user_name, integration_id, runner_id, kind, scm_user_id, scm_username, scm_display_name,
                credentials_jwe, credentials_key_id, credentials_updated_at, scopes, expires_at, status, status_reason, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                connection.id, connection.user, connection.integrationID, connection.runnerID, connection.kind.rawValue,
                connection.scmUser.id, connection.scmUser.username, connection.scmUser.displayName,
                connection.credentials.jwe, connection.credentials.keyID, connection.credentials.updatedAt.timeIntervalSince1970,
                scopes, connection.expiresAt?.timeIntervalSince1970, connection.status.rawValue, connection.statusReason,
                connection.createdAt.timeIntervalSince1970, connection.updatedAt.timeIntervalSince1970,
            ])
    }

    static func connection(_ row: Row) -> Connection? {
        guard let kind = Connection.Kind(rawValue: row["kind"]), let status = Connection.Status(rawValue: row["status"]) else { return nil }
        let scopesJSON: String = row["scopes"]
        return Connection(
            id: row["id"], user: row["user_name"], integrationID: row["integration_id"], runnerID: row["runner_id"], kind: kind,
            scmUser: SCMUser(id: row["scm_user_id"], username: row["scm_username"], displayName: row["scm_display_name"]),
            credentials: SealedSecret(jwe: row["credentials_jwe"], keyID: row["credentials_key_id"],
                                      updatedAt: date(row["credentials_updated_at"])!),
            scopes: (try? JSONDecoder().decode([String].self, from: Data(scopesJSON.utf8))) ?? [],
            expiresAt: date(row["expires_at"]), status: status, statusReason: row["status_reason"],
            version: row["version"], createdAt: date(row["created_at"])!, updatedAt: date(row["updated_at"])!)
    }
}
