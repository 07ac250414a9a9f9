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
        return migrator
    }
}
