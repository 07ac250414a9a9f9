import BrokerCore
@testable import BrokerPostgres
import Foundation
import Testing

/// What only the PostgreSQL store has: its own append-only triggers, migrations shared by
/// brokers that start together, and the URL it is configured with.
@Suite("PostgreSQL store", .enabled(if: StoreFixture.allCases.contains(.postgres)))
struct PostgresStoreTests {
    static func store() async throws -> PostgresStore {
        try #require(try await StoreFixture.postgres.make() as? PostgresStore)
    }

    @Test func theDatabaseRefusesToChangeOrDeleteAuditEvents() async throws {
        let store = try await Self.store()
        try await store.appendAudit(AuditEvent(time: Date(), action: .credentialIssued, outcome: .success, user: "alice"))
        for statement in ["UPDATE audit_events SET user_name = 'mallory'", "DELETE FROM audit_events", "TRUNCATE audit_events"] {
            await #expect(throws: StoreError.self, "\(statement)") { try await store.write { db in try await db.execute(statement) } }
        }
        #expect(try await store.auditEvents(AuditQuery()).map(\.user) == ["alice"])
    }

    @Test func brokersStartingTogetherMigrateOnce() async throws {
        let url = try #require(ProcessInfo.processInfo.environment[StoreFixture.databaseURLVariable])
        let schema = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        var settings = try PostgresSettings(url: url)
        settings.maximumConnections = 2
        let admin = try await PostgresStore.connect(settings, migrate: false)
        try await admin.createSchema(schema)
        admin.shutdown()
        settings.schema = schema
        // Four brokers start at once on the new, empty schema.
        let pinned = settings
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.connect(pinned) } }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        #expect(stores.count == 4)
        let versions = try await stores[0].read { db in
            try await db.fetchAll("SELECT version FROM schema_migrations").map { row in try row["version"] as String }
        }
        #expect(versions == PostgresStore.migrations.map(\.version), "each migration recorded once")
        for store in stores { #expect(try await store.isMigrated()) }
    }

    /// The test server has no TLS: `require` must refuse to talk in the clear rather than fall
    /// back, while `prefer` and `disable` connect. A wrong password is refused without being quoted.
    @Test func tlsModesAreHonouredAndPasswordsStayOutOfErrors() async throws {
        let url = try #require(ProcessInfo.processInfo.environment[StoreFixture.databaseURLVariable])
        let base = url.components(separatedBy: "?")[0]
        for mode in ["disable", "prefer"] {
            let store = try await PostgresStore.connect(try PostgresSettings(url: "\(base)?sslmode=\(mode)"), migrate: false)
            try await store.read { db in _ = try await db.execute("SELECT 1") }
            store.shutdown()
        }
        for mode in ["require", "verify-full"] {
            var settings = try PostgresSettings(url: "\(base)?sslmode=\(mode)")
            settings.operationTimeout = .seconds(3)
            let store = try await PostgresStore.connect(settings, migrate: false)
            await #expect(throws: StoreError.self, "sslmode=\(mode) against a server without TLS") {
                try await store.read { db in _ = try await db.execute("SELECT 1") }
            }
            store.shutdown()
        }
        var wrong = try PostgresSettings(url: "\(base)?sslmode=disable")
        wrong.password = "not-the-password-\(UUID().uuidString)"
        wrong.operationTimeout = .seconds(3)
        let store = try await PostgresStore.connect(wrong, migrate: false)
        do {
            try await store.read { db in _ = try await db.execute("SELECT 1") }
            Issue.record("a wrong password was accepted")
        } catch let error as StoreError {
            #expect(!error.message.contains(wrong.password!))
            #expect(!"\(error)".contains(wrong.password!))
        }
        store.shutdown()
    }

    @Test func settingsComeFromTheURLAndNeverShowThePassword() throws {
        let settings = try PostgresSettings(url: "postgres://broker:s3cr%40t@db.internal:6432/scm?sslmode=verify-full")
        #expect(settings.host == "db.internal")
        #expect(settings.port == 6432)
        #expect(settings.username == "broker")
        #expect(settings.password == "s3cr@t")
        #expect(settings.database == "scm")
        #expect(settings.tls == .verifyFull)
        #expect(!settings.description.contains("s3cr"))
        #expect(try PostgresSettings(url: "postgresql://u@h/d").tls == .prefer)
        #expect(try PostgresSettings(url: "postgres://u@h/d?sslmode=require").tls == .require)
        #expect(try PostgresSettings(url: "postgres://u@h/d?sslmode=verify-ca").tls == .verifyFull)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)").path
        try "from-a-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try PostgresSettings(url: "postgres://u:in-url@h/d", passwordFile: file).password == "from-a-file")

        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=maybe", "postgres://u@h/d?pool=3"] {
            #expect(throws: StoreError.self, "\(bad)") { try PostgresSettings(url: bad) }
        }
        do {
            _ = try PostgresSettings(url: "postgres://u:topsecret@h/d?sslmode=nope")
            Issue.record("an unknown sslmode was accepted")
        } catch let error as StoreError {
            #expect(!error.message.contains("topsecret"))
        }
    }
}
