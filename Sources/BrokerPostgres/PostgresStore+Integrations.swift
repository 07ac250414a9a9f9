import BrokerCore
import BrokerProtocol
import Foundation
import SCMProviders

extension PostgresStore {
    static let integrationColumns = """
        id, runner_id, name, provider, url, oauth_flavor, oauth_tenant, oauth_authority, oauth_client_id,
        oauth_client_secret_jwe, oauth_client_secret_key_id, oauth_client_secret_updated_at, pat_enabled, labels, description,
        created_at, updated_at, api_url, credential_mode, git_url, github_app_id, github_installation_id,
        github_private_key_jwe, github_private_key_key_id, github_private_key_updated_at
        """

    public func insertIntegration(_ integration: Integration) async throws {
        let arguments = Self.arguments(integration)
        try await write { db in
            try await db.execute("""
                INSERT INTO integrations (\(Self.integrationColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments)
        }
    }

    public func integration(id: String) async throws -> Integration? {
        try await read { db in try await db.fetchOne("SELECT * FROM integrations WHERE id = ?", [id]).flatMap(Self.integration) }
    }

    public func integrations(runnerID: String) async throws -> [Integration] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM integrations WHERE runner_id = ? ORDER BY name", [runnerID]).compactMap(Self.integration)
        }
    }

    public func updateIntegration(_ integration: Integration, expectedUpdatedAt: Date) async throws {
        let arguments = Self.arguments(integration) + [integration.id, integration.runnerID, expectedUpdatedAt]
        try await write { db in
            let changed = try await db.execute("""
                UPDATE integrations SET (\(Self.integrationColumns)) =
                    (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                WHERE id = ? AND runner_id = ? AND updated_at = ?
                """, arguments)
            guard changed == 1 else {
                let exists = try await db.exists("SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", [integration.id])
                throw exists ? StoreError(.conflict, "the integration was changed concurrently") : StoreError(.notFound, "no such integration")
            }
        }
    }

    /// Deletes the integration with its connections, flows and tickets. The connections' tokens
    /// are revoked by the runner (the jobs carry what it needs of the integration); exchanges
    /// still queued for it are withdrawn.
    public func deleteIntegration(id: String, now: Date) async throws -> Bool {
        try await write { db in
            guard let integration = try await db.fetchOne("SELECT * FROM integrations WHERE id = ?", [id]).flatMap(Self.integration)
            else { return false }
            let connections = try await db.fetchAll("SELECT * FROM connections WHERE integration_id = ?", [id]).compactMap(Self.connection)
            for connection in connections where connection.kind == .oauth {
                try await Self.insert(Job.revocation(of: connection, id: UUID().uuidString.lowercased(), now: now, deletedIntegration: integration), db)
            }
            try await db.execute("""
                UPDATE jobs SET status = 'cancelled', payload = '{}', completed_at = ?
                WHERE integration_id = ? AND kind = 'oauth_exchange' AND status IN ('queued', 'leased')
                """, [now, id])
            return try await db.execute("DELETE FROM integrations WHERE id = ?", [id]) == 1
        }
    }

    private static func arguments(_ integration: Integration) -> [any SQLBindable] {
        let oauth = integration.oauth
        let app = integration.githubApp
        return [
            integration.id, integration.runnerID, integration.name, integration.provider.rawValue, integration.url,
            oauth?.flavor?.rawValue, oauth?.tenant, oauth?.authority, oauth?.clientID, oauth?.clientSecret.jwe,
            oauth?.clientSecret.keyID, oauth?.clientSecret.updatedAt,
            integration.pat.enabled, JSONStrings(integration.labels), integration.description,
            integration.createdAt, integration.updatedAt, integration.apiURL,
            integration.credentialMode.rawValue, integration.gitURL,
            app?.appID, app?.installationID, app?.privateKey.jwe, app?.privateKey.keyID, app?.privateKey.updatedAt,
        ]
    }

    static func integration(_ row: SQLRow) throws -> Integration? {
        guard let provider = SCMProvider(rawValue: try row["provider"]) else { return nil }
        var oauth: OAuthApp?
        if let clientID: String = try row["oauth_client_id"], let jwe: String = try row["oauth_client_secret_jwe"] {
            oauth = OAuthApp(
                flavor: (try row["oauth_flavor"] as String?).flatMap(OAuthFlavor.init(rawValue:)),
                tenant: try row["oauth_tenant"], authority: try row["oauth_authority"], clientID: clientID,
                clientSecret: SealedSecret(jwe: jwe, keyID: try row["oauth_client_secret_key_id"],
                                           updatedAt: try row.date("oauth_client_secret_updated_at")))
        }
        var integration = Integration(
            id: try row["id"], runnerID: try row["runner_id"], name: try row["name"], provider: provider, url: try row["url"],
            apiURL: try row["api_url"], oauth: oauth, pat: PATSettings(enabled: try row["pat_enabled"]),
            labels: try row.strings("labels"), description: try row["description"],
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
        integration.credentialMode = CredentialMode(rawValue: try row["credential_mode"]) ?? .user
        integration.gitURL = try row["git_url"]
        if let appID: String = try row["github_app_id"], let jwe: String = try row["github_private_key_jwe"] {
            integration.githubApp = GitHubApp(
                appID: appID, installationID: try row["github_installation_id"],
                privateKey: SealedSecret(jwe: jwe, keyID: try row["github_private_key_key_id"],
                                         updatedAt: try row.date("github_private_key_updated_at")))
        }
        return integration
    }

    // MARK: Organization credentials

    public func setCredentialMode(integrationID: String, mode: CredentialMode, credentials: [OrganizationCredential],
                                  expectedUpdatedAt: Date, updatedAt: Date) async throws {
        try await write { db in
            let changed = try await db.execute("UPDATE integrations SET credential_mode = ?, updated_at = ? WHERE id = ? AND updated_at = ?",
                                               [mode.rawValue, updatedAt, integrationID, expectedUpdatedAt])
            guard changed == 1 else {
                let exists = try await db.exists("SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", [integrationID])
                throw exists ? StoreError(.conflict, "the integration was changed concurrently") : StoreError(.notFound, "no such integration")
            }
            try await db.execute("DELETE FROM organization_credentials WHERE integration_id = ?", [integrationID])
            for credential in credentials {
                try await db.execute("""
                    INSERT INTO organization_credentials (id, integration_id, username, credentials_jwe, credentials_key_id,
                        credentials_updated_at, scm_user_id, scm_username, scm_display_name, created_at, last_used_at, rate_limited_until)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [
                        credential.id, integrationID, credential.username, credential.credentials.jwe, credential.credentials.keyID,
                        credential.credentials.updatedAt, credential.scmUser.id, credential.scmUser.username,
                        credential.scmUser.displayName, credential.createdAt, credential.lastUsedAt, credential.rateLimitedUntil,
                    ])
            }
        }
    }

    public func organizationCredentials(integrationID: String) async throws -> [OrganizationCredential] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM organization_credentials WHERE integration_id = ? ORDER BY created_at, id",
                                  [integrationID]).map(Self.organizationCredential)
        }
    }

    public func pickOrganizationCredential(integrationID: String, now: Date) async throws -> OrganizationCredential? {
        try await write { db in
            // Least recently used first (never used before all), so requests go round in turn.
            guard var credential = try await db.fetchOne("""
                SELECT * FROM organization_credentials
                WHERE integration_id = ? AND (rate_limited_until IS NULL OR rate_limited_until <= ?)
                ORDER BY last_used_at IS NOT NULL, last_used_at, created_at, id LIMIT 1
                """, [integrationID, now]).map(Self.organizationCredential)
            else { return nil }
            credential.lastUsedAt = now
            try await db.execute("UPDATE organization_credentials SET last_used_at = ? WHERE id = ?", [now, credential.id])
            return credential
        }
    }

    public func markOrganizationCredentialRateLimited(id: String, until: Date) async throws {
        try await write { db in
            try await db.execute("UPDATE organization_credentials SET rate_limited_until = ? WHERE id = ?", [until, id])
        }
    }

    static func organizationCredential(_ row: SQLRow) throws -> OrganizationCredential {
        OrganizationCredential(
            id: try row["id"], integrationID: try row["integration_id"], username: try row["username"],
            credentials: SealedSecret(jwe: try row["credentials_jwe"], keyID: try row["credentials_key_id"],
                                      updatedAt: try row.date("credentials_updated_at")),
            scmUser: SCMUser(id: try row["scm_user_id"], username: try row["scm_username"], displayName: try row["scm_display_name"]),
            createdAt: try row.date("created_at"), lastUsedAt: try row.optionalDate("last_used_at"),
            rateLimitedUntil: try row.optionalDate("rate_limited_until"))
    }
}
