import GRDB

extension SQLiteStore {
    /// Versioned schema. Append new migrations; never edit a released one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE admin_tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at DOUBLE NOT NULL
                );
                CREATE TABLE runners (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    status TEXT NOT NULL,
                    encryption_key_id TEXT,
                    encryption_jwk TEXT,
                    signing_key_id TEXT,
                    signing_jwk TEXT,
                    created_at DOUBLE NOT NULL,
                    registered_at DOUBLE,
                    last_seen_at DOUBLE
                );
                CREATE TABLE registration_tokens (
                    token_hash TEXT PRIMARY KEY,
                    runner_id TEXT NOT NULL UNIQUE REFERENCES runners(id) ON DELETE CASCADE,
                    expires_at DOUBLE NOT NULL
                );
                CREATE TABLE runner_assertions (
                    runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                    jti TEXT NOT NULL,
                    expires_at DOUBLE NOT NULL,
                    PRIMARY KEY (runner_id, jti)
                );
                CREATE INDEX runner_assertions_expiry ON runner_assertions(expires_at);
                CREATE TABLE runner_access_tokens (
                    token_hash TEXT PRIMARY KEY,
                    runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                    expires_at DOUBLE NOT NULL
                );
                CREATE INDEX runner_access_tokens_expiry ON runner_access_tokens(expires_at);
                CREATE TABLE integrations (
                    id TEXT PRIMARY KEY,
                    runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    url TEXT NOT NULL,
                    oauth_flavor TEXT,
                    oauth_tenant TEXT,
                    oauth_authority TEXT,
                    oauth_client_id TEXT,
                    oauth_client_secret_jwe TEXT,
                    oauth_client_secret_key_id TEXT,
                    oauth_client_secret_updated_at DOUBLE,
                    pat_enabled BOOLEAN NOT NULL,
                    labels TEXT NOT NULL,
                    description TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL,
                    UNIQUE (runner_id, name)
                );
                """)
        }
        migrator.registerMigration("v2-connect") { db in
            try db.execute(sql: """
                ALTER TABLE integrations ADD COLUMN api_url TEXT;
                CREATE TABLE service_tokens (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    role TEXT NOT NULL,
                    token_hash TEXT NOT NULL UNIQUE,
                    created_at DOUBLE NOT NULL
                );
                CREATE TABLE connect_tickets (
                    token_hash TEXT PRIMARY KEY,
                    user_name TEXT NOT NULL,
                    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                    expires_at DOUBLE NOT NULL
                );
                CREATE INDEX connect_tickets_expiry ON connect_tickets(expires_at);
                CREATE TABLE connect_flows (
                    id TEXT PRIMARY KEY,
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
                    created_at DOUBLE NOT NULL,
                    callback_at DOUBLE,
                    completed_at DOUBLE
                );
                CREATE INDEX connect_flows_created ON connect_flows(created_at);
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY,
                    runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                    kind TEXT NOT NULL,
                    integration_id TEXT NOT NULL,
                    flow_id TEXT,
                    payload TEXT NOT NULL,
                    status TEXT NOT NULL,
                    lease_expires_at DOUBLE,
                    attempts INTEGER NOT NULL,
                    created_at DOUBLE NOT NULL,
                    completed_at DOUBLE
                );
                CREATE INDEX jobs_runner_status ON jobs(runner_id, status, created_at);
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
                    credentials_updated_at DOUBLE NOT NULL,
                    scopes TEXT NOT NULL,
                    expires_at DOUBLE,
                    status TEXT NOT NULL,
                    status_reason TEXT,
                    created_at DOUBLE NOT NULL,
                    updated_at DOUBLE NOT NULL,
                    UNIQUE (user_name, integration_id)
                );
                """)
        }
        migrator.registerMigration("v3-pat") { db in
            try db.execute(sql: """
                ALTER TABLE connect_flows ADD COLUMN kind TEXT NOT NULL DEFAULT 'oauth';
                ALTER TABLE jobs ADD COLUMN result TEXT;
                ALTER TABLE integrations ADD COLUMN credential_mode TEXT NOT NULL DEFAULT 'user';
                CREATE TABLE organization_credentials (
                    id TEXT PRIMARY KEY,
                    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                    username TEXT,
                    credentials_jwe TEXT NOT NULL,
                    credentials_key_id TEXT NOT NULL,
                    credentials_updated_at DOUBLE NOT NULL,
                    scm_user_id TEXT NOT NULL,
                    scm_username TEXT NOT NULL,
                    scm_display_name TEXT,
                    created_at DOUBLE NOT NULL,
                    last_used_at DOUBLE,
                    rate_limited_until DOUBLE
                );
                CREATE INDEX organization_credentials_integration ON organization_credentials(integration_id);
                """)
        }
        migrator.registerMigration("v4-environments") { db in
            try db.execute(sql: """
                ALTER TABLE integrations ADD COLUMN git_url TEXT;
                ALTER TABLE integrations ADD COLUMN github_app_id TEXT;
                ALTER TABLE integrations ADD COLUMN github_installation_id TEXT;
                ALTER TABLE integrations ADD COLUMN github_private_key_jwe TEXT;
                ALTER TABLE integrations ADD COLUMN github_private_key_key_id TEXT;
                ALTER TABLE integrations ADD COLUMN github_private_key_updated_at DOUBLE;
                ALTER TABLE connections ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
                ALTER TABLE connections ADD COLUMN refresh_lease_id TEXT;
                ALTER TABLE connections ADD COLUMN refresh_lease_expires_at DOUBLE;
                CREATE TABLE clone_grants (
                    id TEXT PRIMARY KEY,
                    runner_id TEXT NOT NULL REFERENCES runners(id) ON DELETE CASCADE,
                    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
                    user_name TEXT NOT NULL,
                    repository_url TEXT NOT NULL,
                    clone_url TEXT NOT NULL,
                    access TEXT NOT NULL,
                    credential_mode TEXT NOT NULL,
                    created_at DOUBLE NOT NULL,
                    expires_at DOUBLE NOT NULL,
                    revoked_at DOUBLE
                );
                CREATE INDEX clone_grants_expires ON clone_grants(expires_at);
                CREATE TABLE audit_events (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    time DOUBLE NOT NULL,
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
                );
                CREATE INDEX audit_events_user ON audit_events(user_name, sequence);
                CREATE INDEX audit_events_runner ON audit_events(runner_id, sequence);
                CREATE INDEX audit_events_time ON audit_events(time);
                -- Append-only: the database itself refuses to change or remove an event.
                CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                """)
        }
        return migrator
    }
}
