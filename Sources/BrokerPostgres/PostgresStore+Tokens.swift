import BrokerCore
import Foundation

extension PostgresStore {
    public func insertAdminToken(_ token: AdminToken) async throws {
        try await write { db in
            try await db.execute("INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                                 [token.id, token.name, token.tokenHash, token.createdAt])
        }
    }

    public func adminToken(hash: String) async throws -> AdminToken? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM admin_tokens WHERE token_hash = ?", [hash]).map { row in
                AdminToken(id: try row["id"], name: try row["name"], tokenHash: try row["token_hash"], createdAt: try row.date("created_at"))
            }
        }
    }

    public func adminTokenCount() async throws -> Int {
        try await read { db in try await db.fetchOne("SELECT COUNT(*) FROM admin_tokens")?.value(at: 0) ?? 0 }
    }

    public func recordAssertion(runnerID: String, jti: String, expiresAt: Date, now: Date) async throws -> Bool {
        await cleanUp("DELETE FROM runner_assertions WHERE expires_at < ?", [now])
        return try await write { db in
            // A `jti` seen before counts only while its assertion is unexpired.
            try await db.execute("DELETE FROM runner_assertions WHERE runner_id = ? AND jti = ? AND expires_at < ?", [runnerID, jti, now])
            return try await db.execute("""
                INSERT INTO runner_assertions (runner_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
                """, [runnerID, jti, expiresAt]) == 1
        }
    }

    public func insertRunnerAccessToken(_ token: RunnerAccessToken, now: Date) async throws {
        try await write { db in
            try await db.execute("INSERT INTO runner_access_tokens (token_hash, runner_id, expires_at) VALUES (?, ?, ?)",
                                 [token.tokenHash, token.runnerID, token.expiresAt])
        }
        await cleanUp("DELETE FROM runner_access_tokens WHERE expires_at < ?", [now])
    }

    public func runnerAccessToken(hash: String) async throws -> RunnerAccessToken? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM runner_access_tokens WHERE token_hash = ?", [hash]).map { row in
                RunnerAccessToken(runnerID: try row["runner_id"], tokenHash: try row["token_hash"], expiresAt: try row.date("expires_at"))
            }
        }
    }

    public func insertServiceToken(_ token: ServiceToken) async throws {
        try await write { db in
            try await db.execute("INSERT INTO service_tokens (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                                 [token.id, token.name, token.role.rawValue, token.tokenHash, token.createdAt])
        }
    }

    public func serviceToken(hash: String) async throws -> ServiceToken? {
        try await read { db in try await db.fetchOne("SELECT * FROM service_tokens WHERE token_hash = ?", [hash]).flatMap(Self.serviceToken) }
    }

    public func serviceTokens() async throws -> [ServiceToken] {
        try await read { db in try await db.fetchAll("SELECT * FROM service_tokens ORDER BY created_at, id").compactMap(Self.serviceToken) }
    }

    public func deleteServiceToken(id: String) async throws -> Bool {
        try await write { db in try await db.execute("DELETE FROM service_tokens WHERE id = ?", [id]) == 1 }
    }

    private static func serviceToken(_ row: SQLRow) throws -> ServiceToken? {
        guard let role = ServiceRole(rawValue: try row["role"]) else { return nil }
        return ServiceToken(id: try row["id"], name: try row["name"], role: role, tokenHash: try row["token_hash"],
                            createdAt: try row.date("created_at"))
    }
}
