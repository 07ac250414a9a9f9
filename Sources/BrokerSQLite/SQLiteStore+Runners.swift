import BrokerCore
import Foundation
import GRDB

extension SQLiteStore {
    public func insertRunner(_ runner: Runner, registration: RegistrationToken) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO runners (id, name, status, created_at) VALUES (?, ?, ?, ?)
                """, arguments: [runner.id, runner.name, runner.status.rawValue, runner.createdAt.timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO registration_tokens (token_hash, runner_id, expires_at) VALUES (?, ?, ?)",
                           arguments: [registration.tokenHash, runner.id, registration.expiresAt.timeIntervalSince1970])
        }
    }

    public func runner(id: String) async throws -> Runner? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM runners WHERE id = ?", arguments: [id]).map(Self.runner) }
    }

    public func runners() async throws -> [Runner] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM runners ORDER BY created_at, id").map(Self.runner) }
    }

    public func deleteRunner(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM runners WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    public func completeRegistration(tokenHash: String, encryptionKey: RunnerPublicKey, signingKey: RunnerPublicKey,
                                     at now: Date) async throws -> Runner? {
        try await write { db in
            guard let runnerID = try String.fetchOne(db, sql: """
                SELECT runner_id FROM registration_tokens WHERE token_hash = ? AND expires_at > ?
                """, arguments: [tokenHash, now.timeIntervalSince1970])
            else { return nil }
            try db.execute(sql: "DELETE FROM registration_tokens WHERE token_hash = ?", arguments: [tokenHash])
            try db.execute(sql: """
                UPDATE runners SET status = 'registered', encryption_key_id = ?, encryption_jwk = ?,
                    signing_key_id = ?, signing_jwk = ?, registered_at = ?
                WHERE id = ? AND status = 'pending'
                """, arguments: [encryptionKey.keyID, encryptionKey.jwk, signingKey.keyID, signingKey.jwk,
                                 now.timeIntervalSince1970, runnerID])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(db, sql: "SELECT * FROM runners WHERE id = ?", arguments: [runnerID]).map(Self.runner)
        }
    }

    public func touchRunner(id: String, at now: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE runners SET last_seen_at = ? WHERE id = ?", arguments: [now.timeIntervalSince1970, id])
        }
    }

    static func runner(_ row: Row) -> Runner {
        let encryptionKeyID: String? = row["encryption_key_id"]
        let signingKeyID: String? = row["signing_key_id"]
        return Runner(
            id: row["id"],
            name: row["name"],
            status: Runner.Status(rawValue: row["status"]) ?? .pending,
            encryptionKey: encryptionKeyID.map { RunnerPublicKey(keyID: $0, jwk: row["encryption_jwk"]) },
            signingKey: signingKeyID.map { RunnerPublicKey(keyID: $0, jwk: row["signing_jwk"]) },
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            registeredAt: (row["registered_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
            lastSeenAt: (row["last_seen_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        )
    }
}
