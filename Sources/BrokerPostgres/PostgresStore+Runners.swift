import BrokerCore
import Foundation

extension PostgresStore {
    public func insertRunner(_ runner: Runner, registration: RegistrationToken) async throws {
        try await write { db in
            try await db.execute("INSERT INTO runners (id, name, status, created_at) VALUES (?, ?, ?, ?)",
                                 [runner.id, runner.name, runner.status.rawValue, runner.createdAt])
            try await db.execute("INSERT INTO registration_tokens (token_hash, runner_id, expires_at) VALUES (?, ?, ?)",
                                 [registration.tokenHash, runner.id, registration.expiresAt])
        }
    }

    public func runner(id: String) async throws -> Runner? {
        try await read { db in try await db.fetchOne("SELECT * FROM runners WHERE id = ?", [id]).map(Self.runner) }
    }

    public func runners() async throws -> [Runner] {
        try await read { db in try await db.fetchAll("SELECT * FROM runners ORDER BY created_at, id").map(Self.runner) }
    }

    public func deleteRunner(id: String) async throws -> Bool {
        try await write { db in try await db.execute("DELETE FROM runners WHERE id = ?", [id]) == 1 }
    }

    public func completeRegistration(tokenHash: String, encryptionKey: RunnerPublicKey, signingKey: RunnerPublicKey,
                                     at now: Date) async throws -> Runner? {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT runner_id FROM registration_tokens WHERE token_hash = ? AND expires_at > ?",
                                                  [tokenHash, now])
            else { return nil }
            let runnerID: String = try row["runner_id"]
            try await db.execute("DELETE FROM registration_tokens WHERE token_hash = ?", [tokenHash])
            let changed = try await db.execute("""
                UPDATE runners SET status = 'registered', encryption_key_id = ?, encryption_jwk = ?,
                    signing_key_id = ?, signing_jwk = ?, registered_at = ?
                WHERE id = ? AND status = 'pending'
                """, [encryptionKey.keyID, encryptionKey.jwk, signingKey.keyID, signingKey.jwk, now, runnerID])
            guard changed == 1 else { return nil }
            return try await db.fetchOne("SELECT * FROM runners WHERE id = ?", [runnerID]).map(Self.runner)
        }
    }

    public func touchRunner(id: String, at now: Date) async throws {
        try await write { db in try await db.execute("UPDATE runners SET last_seen_at = ? WHERE id = ?", [now, id]) }
    }

    static func runner(_ row: SQLRow) throws -> Runner {
        let encryptionKeyID: String? = try row["encryption_key_id"]
        let signingKeyID: String? = try row["signing_key_id"]
        return Runner(
            id: try row["id"], name: try row["name"],
            status: Runner.Status(rawValue: try row["status"]) ?? .pending,
            encryptionKey: try encryptionKeyID.map { RunnerPublicKey(keyID: $0, jwk: try row["encryption_jwk"]) },
            signingKey: try signingKeyID.map { RunnerPublicKey(keyID: $0, jwk: try row["signing_jwk"]) },
            createdAt: try row.date("created_at"), registeredAt: try row.optionalDate("registered_at"),
            lastSeenAt: try row.optionalDate("last_seen_at"))
    }
}
