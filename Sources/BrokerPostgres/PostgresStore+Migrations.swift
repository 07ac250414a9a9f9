import BrokerCore

extension PostgresStore {
    /// Versioned schema: append new migrations, never edit a released one. The tables match the
    /// SQLite store's, column for column (times as seconds since 1970).
    static let migrations: [(version: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE admin_tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE runners (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                status TEXT NOT NULL,
                encryption_key_id TEXT,
                encryption_jwk TEXT,
                signing_key_id TEXT,
                signing_jwk TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                registered_at DOUBLE PRECISION,
                last_seen_at DOUBLE PRECISION
            )
            """,
            """
            CREATE TABLE registration_tokens (
                token_hash TEXT PRIMARY KEY,
                runner_id TEXT NOT NULL UNIQUE REFERENCES runners(id) ON DELETE CASCADE,
                expires_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE runner_assertions (
                runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                jti TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (runner_id, jti)
            )
            """,
            "CREATE INDEX runner_assertions_expiry ON runner_assertions(expires_at)",
            """
            CREATE TABLE runner_access_tokens (
                token_hash TEXT PRIMARY KEY,
                runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                expires_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX runner_access_tokens_expiry ON runner_access_tokens(expires_at)",
            """
            CREATE TABLE integrations (
                id TEXT PRIMARY KEY,
                runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                provider TEXT NOT NULL,
                url TEXT NOT NULL,
                api_url TEXT,
                git_url TEXT,
                oauth_flavor TEXT,
                oauth_tenant TEXT,
                oauth_authority TEXT,
                oauth_client_id TEXT,
                oauth_client_secret_jwe TEXT,
                oauth_client_secret_key_id TEXT,
                oauth_client_secret_updated_at DOUBLE PRECISION,
                github_app_id TEXT,
                github_installation_id TEXT,
                github_private_key_jwe TEXT,
                github_private_key_key_id TEXT,
                github_private_key_updated_at DOUBLE PRECISION,
                pat_enabled BOOLEAN NOT NULL,
                labels TEXT NOT NULL,
                description TEXT NOT NULL,
                credential_mode TEXT NOT NULL DEFAULT 'user',
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                UNIQUE (runner_id, name)
            )
            """,
            """
            CREATE TABLE service_tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE connect_tickets (
                token_hash TEXT PRIMARY KEY,
                user_name TEXT NOT NULL,
                integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                expires_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX connect_tickets_expiry ON connect_tickets(expires_at)",
            """
            CREATE TABLE connect_flows (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL DEFAULT 'oauth',
                integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                runner_id TEXT NOT NULL,
                user_name TEXT NOT NULL,
                state_hash TEXT NOT NULL UNIQUE,
                browser_hash TEXT NOT NULL,
                code_verifier_jwe TEXT,
                status TEXT NOT NULL,
                failure_code TEXT,
                failure_message TEXT,
                job_id TEXT,
                connection_id TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                callback_at DOUBLE PRECISION,
                completed_at DOUBLE PRECISION
            )
            """,
            "CREATE INDEX connect_flows_created ON connect_flows(created_at)",
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                integration_id TEXT NOT NULL,
                flow_id TEXT,
                payload TEXT NOT NULL,
                status TEXT NOT NULL,
                lease_expires_at DOUBLE PRECISION,
                attempts BIGINT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                completed_at DOUBLE PRECISION,
                result TEXT
            )
            """,
            "CREATE INDEX jobs_runner_status ON jobs(runner_id, status, created_at)",
            """
            CREATE TABLE connections (
                id TEXT PRIMARY KEY,
                user_name TEXT NOT NULL,
                integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                runner_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                scm_user_id TEXT NOT NULL,
                scm_username TEXT NOT NULL,
                scm_display_name TEXT,
                credentials_jwe TEXT NOT NULL,
                credentials_key_id TEXT NOT NULL,
                credentials_updated_at DOUBLE PRECISION NOT NULL,
                scopes TEXT NOT NULL,
                expires_at DOUBLE PRECISION,
                status TEXT NOT NULL,
                status_reason TEXT,
                version BIGINT NOT NULL DEFAULT 1,
                refresh_lease_id TEXT,
                refresh_lease_expires_at DOUBLE PRECISION,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                UNIQUE (user_name, integration_id)
            )
            """,
            """
            CREATE TABLE organization_credentials (
                id TEXT PRIMARY KEY,
                integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                username TEXT,
                credentials_jwe TEXT NOT NULL,
                credentials_key_id TEXT NOT NULL,
                credentials_updated_at DOUBLE PRECISION NOT NULL,
                scm_user_id TEXT NOT NULL,
                scm_username TEXT NOT NULL,
                scm_display_name TEXT,
                created_at DOUBLE PRECISION NOT NULL,
                last_used_at DOUBLE PRECISION,
                rate_limited_until DOUBLE PRECISION
            )
            """,
            "CREATE INDEX organization_credentials_integration ON organization_credentials(integration_id)",
            """
            CREATE TABLE clone_grants (
                id TEXT PRIMARY KEY,
                runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                user_name TEXT NOT NULL,
                repository_url TEXT NOT NULL,
                clone_url TEXT NOT NULL,
                access TEXT NOT NULL,
                credential_mode TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """,
            "CREATE INDEX clone_grants_expires ON clone_grants(expires_at)",
            """
            CREATE TABLE audit_events (
                sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                time DOUBLE PRECISION NOT NULL,
                action TEXT NOT NULL,
                outcome TEXT NOT NULL,
                runner_id TEXT,
                environment_id TEXT,
                user_name TEXT,
                repository_url TEXT,
                access TEXT,
                integration_id TEXT,
                connection_id TEXT,
                reason TEXT
            )
            """,
            "CREATE INDEX audit_events_user ON audit_events(user_name, sequence)",
            "CREATE INDEX audit_events_runner ON audit_events(runner_id, sequence)",
            "CREATE INDEX audit_events_time ON audit_events(time)",
            // Append-only: the database itself refuses to change or remove an event.
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit events are append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
                FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
            """,
            """
            CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
                FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
            """,
        ]),
    ]

    /// An arbitrary, fixed key for the advisory lock that serialises migrations across brokers.
    static let migrationLock = 0x5343_4D42_524B_0001

    /// Applies the migrations this database lacks, holding a transaction-scoped advisory lock:
    /// brokers starting together wait for each other, and the second finds nothing to do.
    func migrate() async throws {
        try await client.withConnection { connection in
            let session = SQLSession(connection: connection, logger: logger, jobChannel: jobChannel)
            try await session.execute("BEGIN")
            do {
                try await session.execute("SELECT pg_advisory_xact_lock(?)", [Self.migrationLock])
                try await session.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """)
                let applied = Set(try await session.fetchAll("SELECT version FROM schema_migrations").map { row in try row["version"] as String })
                for migration in Self.migrations where !applied.contains(migration.version) {
                    for statement in migration.statements { try await session.execute(statement) }
                    try await session.execute("INSERT INTO schema_migrations (version) VALUES (?)", [migration.version])
                    logger.info("database migrated", metadata: ["version": "\(migration.version)"])
                }
                try await session.execute("COMMIT")
            } catch {
                _ = try? await session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Whether every migration has been applied (readiness).
    public func isMigrated() async throws -> Bool {
        try await read { session in
            let applied = try await session.fetchAll("SELECT version FROM schema_migrations").map { row in try row["version"] as String }
            return Set(Self.migrations.map(\.version)).isSubset(of: Set(applied))
        }
    }
}
