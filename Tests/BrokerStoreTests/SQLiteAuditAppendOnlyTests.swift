import BrokerCore
import BrokerSQLite
import Foundation
import GRDB
import Testing

@Suite("SQLite audit log")
struct SQLiteAuditAppendOnlyTests {
    @Test func theDatabaseRefusesToChangeOrDeleteAuditEvents() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-" + UUID().uuidString).path
        let store = try SQLiteStore(dataDirectory: directory)
        try await store.appendAudit(AuditEvent(time: Date(), action: .credentialIssued, outcome: .success, user: "alice"))
        let queue = try DatabaseQueue(path: store.path)
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "UPDATE audit_events SET user_name = 'mallory'") } }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: "DELETE FROM audit_events") } }
        #expect(try await store.auditEvents(AuditQuery()).map(\.user) == ["alice"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("SQLite: one broker per data directory")
struct BrokerLockTests {
    @Test func aSecondBrokerOnTheSameDataDirectoryIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lock-" + UUID().uuidString).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var first: BrokerLock? = try BrokerLock(dataDirectory: directory)
        do {
            _ = try BrokerLock(dataDirectory: directory)
            Issue.record("a second lock on the same data directory was granted")
        } catch let error as StoreError {
            #expect(error.code == .conflict)
            #expect(error.message.contains("process \(getpid())"), "names the broker that holds it: \(error.message)")
            #expect(error.message.contains("--database-url"))
        }
        // Another data directory is another broker's.
        _ = try BrokerLock(dataDirectory: directory + "-other")
        try? FileManager.default.removeItem(atPath: directory + "-other")
        // Once the first broker is gone, the directory can be served again.
        withExtendedLifetime(first) {}
        first = nil
        _ = try BrokerLock(dataDirectory: directory)
    }
}
