import BrokerCore
import Foundation
import GRDB

extension SQLiteStore {
    public func insertAdminToken(_ token: AdminToken) async throws {
        try await write { db in
            try db.execute(sql: "INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [token.id, token.name, token.tokenHash, token.createdAt.timeIntervalSince1970])
        }
    }

    public func adminToken(hash: String) async throws -> AdminToken? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM admin_tokens WHERE token_hash = ?", arguments: [hash]).map {
                AdminToken(id: $0["id"], name: $0["name"], tokenHash: $0["token_hash"],
                           createdAt: Date(timeIntervalSince1970: $0["created_at"]))
            }
        }
    }

    public func adminTokenCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM admin_tokens") ?? 0 }
    }

    public func recordAssertion(runnerID: String, jti: String, expiresAt: Date, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM runner_assertions WHERE expires_at < ?", arguments: [now.timeIntervalSince1970])
            try db.execute(sql: "INSERT OR IGNORE INTO runner_assertions (runner_id, jti, expires_at) VALUES (?, ?, ?)",
                           arguments: [runnerID, jti, expiresAt.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    public func insertRunnerAccessToken(_ token: RunnerAccessToken, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM runner_access_tokens WHERE expires_at < ?", arguments: [now.timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO runner_access_tokens (token_hash, runner_id, expires_at) VALUES (?, ?, ?)",
                           arguments: [token.tokenHash, token.runnerID, token.expiresAt.timeIntervalSince1970])
        }
    }

    public func runnerAccessToken(hash: String) async throws -> RunnerAccessToken? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runner_access_tokens WHERE token_hash = ?", arguments: [hash]).map {
                RunnerAccessToken(runnerID: $0["runner_id"], tokenHash: $0["token_hash"],
                                  expiresAt: Date(timeIntervalSince1970: $0["expires_at"]))
            }
        }
    }
}

extension SQLiteStore {
    public func insertServiceToken(_ token: ServiceToken) async throws {
        try await write { db in
            try db.execute(sql: "INSERT INTO service_tokens (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [token.id, token.name, token.role.rawValue, token.tokenHash, token.createdAt.timeIntervalSince1970])
        }
    }

    public func serviceToken(hash: String) async throws -> ServiceToken? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM service_tokens WHERE token_hash = ?", arguments: [hash]).flatMap(Self.serviceToken)
        }
    }

    public func serviceTokens() async throws -> [ServiceToken] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM service_tokens ORDER BY created_at, id").compactMap(Self.serviceToken)
        }
    }

    public func deleteServiceToken(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM service_tokens WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    private static func serviceToken(_ row: Row) -> ServiceToken? {
        ServiceRole(rawValue: row["role"]).map {
            ServiceToken(id: row["id"], name: row["name"], role: $0, tokenHash: row["token_hash"],
                         createdAt: Date(timeIntervalSince1970: row["created_at"]))
        }
    }
}
