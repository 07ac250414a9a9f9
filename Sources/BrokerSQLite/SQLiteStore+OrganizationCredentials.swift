import BrokerCore
import BrokerProtocol
import Foundation
import GRDB

extension SQLiteStore {
    public func setCredentialMode(integrationID: String, mode: CredentialMode, credentials: [OrganizationCredential],
                                  expectedUpdatedAt: Date, updatedAt: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE integrations SET credential_mode = ?, updated_at = ? WHERE id = ? AND updated_at = ?",
                           arguments: [mode.rawValue, updatedAt.timeIntervalSince1970, integrationID, expectedUpdatedAt.timeIntervalSince1970])
            guard db.changesCount == 1 else {
                let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", arguments: [integrationID]) ?? false
                throw exists ? StoreError(.conflict, "the integration was changed concurrently") : StoreError(.notFound, "no such integration")
            }
            try db.execute(sql: "DELETE FROM organization_credentials WHERE integration_id = ?", arguments: [integrationID])
            for credential in credentials {
                try db.execute(sql: """
                    INSERT INTO organization_credentials (id, integration_id, username, credentials_jwe, credentials_key_id,
                        credentials_updated_at, scm_user_id, scm_username, scm_display_name, created_at, last_used_at, rate_limited_until)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [
                        credential.id, integrationID, credential.username, credential.credentials.jwe, credential.credentials.keyID,
                        credential.credentials.updatedAt.timeIntervalSince1970, credential.scmUser.id, credential.scmUser.username,
                        credential.scmUser.displayName, credential.createdAt.timeIntervalSince1970,
                        credential.lastUsedAt?.timeIntervalSince1970, credential.rateLimitedUntil?.timeIntervalSince1970,
                    ])
            }
        }
    }

    public func organizationCredentials(integrationID: String) async throws -> [OrganizationCredential] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM organization_credentials WHERE integration_id = ? ORDER BY created_at, id",
                             arguments: [integrationID]).map(Self.organizationCredential)
        }
    }

    public func pickOrganizationCredential(integrationID: String, now: Date) async throws -> OrganizationCredential? {
        try await write { db in
            // Least recently used first (never used before all), so requests go round in turn.
            guard var credential = try Row.fetchOne(db, sql: """
                SELECT * FROM organization_credentials
                WHERE integration_id = ? AND (rate_limited_until IS NULL OR rate_limited_until <= ?)
                ORDER BY last_used_at IS NOT NULL, last_used_at, created_at, id LIMIT 1
                """, arguments: [integrationID, now.timeIntervalSince1970]).map(Self.organizationCredential)
            else { return nil }
            credential.lastUsedAt = now
            try db.execute(sql: "UPDATE organization_credentials SET last_used_at = ? WHERE id = ?",
                           arguments: [now.timeIntervalSince1970, credential.id])
            return credential
        }
    }

    public func markOrganizationCredentialRateLimited(id: String, until: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE organization_credentials SET rate_limited_until = ? WHERE id = ?",
                           arguments: [until.timeIntervalSince1970, id])
        }
    }

    static func organizationCredential(_ row: Row) -> OrganizationCredential {
        OrganizationCredential(
            id: row["id"], integrationID: row["integration_id"], username: row["username"],
            credentials: SealedSecret(jwe: row["credentials_jwe"], keyID: row["credentials_key_id"],
                                      updatedAt: date(row["credentials_updated_at"])!),
            scmUser: SCMUser(id: row["scm_user_id"], username: row["scm_username"], displayName: row["scm_display_name"]),
            createdAt: date(row["created_at"])!, lastUsedAt: date(row["last_used_at"]), rateLimitedUntil: date(row["rate_limited_until"]))
    }
}
