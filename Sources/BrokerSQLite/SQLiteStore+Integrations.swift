import BrokerCore
import BrokerProtocol
import Foundation
import GRDB
import SCMProviders

extension SQLiteStore {
    public func insertIntegration(_ integration: Integration) async throws {
        try await write { db in
            try db.execute(sql: """
                INSERT INTO integrations (id, runner_id, name, provider, url, oauth_flavor, oauth_tenant, oauth_authority,
                    oauth_client_id, oauth_client_secret_jwe, oauth_client_secret_key_id, oauth_client_secret_updated_at,
                    pat_enabled, labels, description, created_at, updated_at, api_url, credential_mode, git_url,
                    github_app_id, github_installation_id, github_private_key_jwe, github_private_key_key_id,
                    github_private_key_updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: Self.arguments(integration))
        }
    }

    public func integration(id: String) async throws -> Integration? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM integrations WHERE id = ?", arguments: [id]).flatMap(Self.integration)
        }
    }

    public func integrations(runnerID: String) async throws -> [Integration] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM integrations WHERE runner_id = ? ORDER BY name", arguments: [runnerID])
                .compactMap(Self.integration)
        }
    }

    public func updateIntegration(_ integration: Integration, expectedUpdatedAt: Date) async throws {
        try await write { db in
            var arguments = Self.arguments(integration)
            arguments += [integration.id, integration.runnerID, expectedUpdatedAt.timeIntervalSince1970]
            try db.execute(sql: """
                UPDATE integrations SET id = ?, runner_id = ?, name = ?, provider = ?, url = ?, oauth_flavor = ?, oauth_tenant = ?,
                    oauth_authority = ?, oauth_client_id = ?, oauth_client_secret_jwe = ?, oauth_client_secret_key_id = ?,
                    oauth_client_secret_updated_at = ?, pat_enabled = ?, labels = ?, description = ?, created_at = ?, updated_at = ?,
                    api_url = ?, credential_mode = ?, git_url = ?, github_app_id = ?, github_installation_id = ?,
                    github_private_key_jwe = ?, github_private_key_key_id = ?, github_private_key_updated_at = ?
                WHERE id = ? AND runner_id = ? AND updated_at = ?
                """, arguments: arguments)
            guard db.changesCount == 1 else {
                let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", arguments: [integration.id]) ?? false
                throw exists ? StoreError(.conflict, "the integration was changed concurrently") : StoreError(.notFound, "no such integration")
            }
        }
    }

    /// Deletes the integration with its connections, flows and tickets. The connections' tokens
    /// are revoked by the runner (the jobs carry what it needs of the integration); exchanges
    /// still queued for it are withdrawn.
    public func deleteIntegration(id: String, now: Date) async throws -> Bool {
        try await write { db in
            guard let integration = try Row.fetchOne(db, sql: "SELECT * FROM integrations WHERE id = ?", arguments: [id]).flatMap(Self.integration)
            else { return false }
            let connections = try Row.fetchAll(db, sql: "SELECT * FROM connections WHERE integration_id = ?", arguments: [id]).compactMap(Self.connection)
            for connection in connections where connection.kind == .oauth {
                try Self.insert(Job.revocation(of: connection, id: UUID().uuidString.lowercased(), now: now, deletedIntegration: integration), db)
            }
            try db.execute(sql: """
                UPDATE jobs SET status = 'cancelled', payload = '{}', completed_at = ?
                WHERE integration_id = ? AND kind = 'oauth_exchange' AND status IN ('queued', 'leased')
                """, arguments: [now.timeIntervalSince1970, id])
            try db.execute(sql: "DELETE FROM integrations WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    private static func arguments(_ integration: Integration) -> StatementArguments {
        let oauth = integration.oauth
        let labels = String(decoding: (try? JSONEncoder().encode(integration.labels)) ?? Data("[]".utf8), as: UTF8.self)
        return [
            integration.id, integration.runnerID, integration.name, integration.provider.rawValue, integration.url,
            oauth?.flavor?.rawValue, oauth?.tenant, oauth?.authority, oauth?.clientID, oauth?.clientSecret.jwe,
            oauth?.clientSecret.keyID, oauth?.clientSecret.updatedAt.timeIntervalSince1970,
            integration.pat.enabled, labels, integration.description,
            integration.createdAt.timeIntervalSince1970, integration.updatedAt.timeIntervalSince1970, integration.apiURL,
            integration.credentialMode.rawValue, integration.gitURL,
            integration.githubApp?.appID, integration.githubApp?.installationID, integration.githubApp?.privateKey.jwe,
            integration.githubApp?.privateKey.keyID, integration.githubApp?.privateKey.updatedAt.timeIntervalSince1970,
        ]
    }

    static func integration(_ row: Row) -> Integration? {
        guard let provider = SCMProvider(rawValue: row["provider"]) else { return nil }
        var oauth: OAuthApp?
        if let clientID: String = row["oauth_client_id"], let jwe: String = row["oauth_client_secret_jwe"] {
            oauth = OAuthApp(
                flavor: (row["oauth_flavor"] as String?).flatMap(OAuthFlavor.init(rawValue:)),
                tenant: row["oauth_tenant"],
                authority: row["oauth_authority"],
                clientID: clientID,
                clientSecret: SealedSecret(jwe: jwe, keyID: row["oauth_client_secret_key_id"],
                                           updatedAt: Date(timeIntervalSince1970: row["oauth_client_secret_updated_at"]))
            )
        }
        let labelsJSON: String = row["labels"]
        var integration = Integration(
            id: row["id"], runnerID: row["runner_id"], name: row["name"], provider: provider, url: row["url"],
            apiURL: row["api_url"], oauth: oauth, pat: PATSettings(enabled: row["pat_enabled"]),
            labels: (try? JSONDecoder().decode([String].self, from: Data(labelsJSON.utf8))) ?? [],
            description: row["description"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"])
        )
        integration.credentialMode = CredentialMode(rawValue: row["credential_mode"]) ?? .user
        integration.gitURL = row["git_url"]
        if let appID: String = row["github_app_id"], let jwe: String = row["github_private_key_jwe"] {
            integration.githubApp = GitHubApp(
                appID: appID, installationID: row["github_installation_id"],
                privateKey: SealedSecret(jwe: jwe, keyID: row["github_private_key_key_id"],
                                         updatedAt: Date(timeIntervalSince1970: row["github_private_key_updated_at"])))
        }
        return integration
    }
}
