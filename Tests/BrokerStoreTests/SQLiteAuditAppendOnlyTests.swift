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
