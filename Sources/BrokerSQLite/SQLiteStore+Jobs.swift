import BrokerCore
import BrokerProtocol
import Foundation
import GRDB

extension SQLiteStore {
    public func enqueueJob(_ job: Job) async throws {
        try await write { db in try Self.insert(job, db) }
    }

    public func job(id: String) async throws -> Job? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).flatMap(Self.job) }
    }

    public func leaseJobs(runnerID: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [Job] {
        // Held polls ask every second and usually find nothing: a read (no commit) says so.
        let hasWork = try await read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS(SELECT 1 FROM jobs WHERE runner_id = ? AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?)))
                """, arguments: [runnerID, now.timeIntervalSince1970]) ?? false
        }
        guard hasWork else { return [] }
        return try await write { db in
            let time = now.timeIntervalSince1970
            // Jobs whose lease ran out too often are given up, so one poisonous job cannot
            // crash-loop its runner forever.
            let exhausted = try Row.fetchAll(db, sql: """
                SELECT id, flow_id FROM jobs
                WHERE runner_id = ? AND status = 'leased' AND lease_expires_at <= ? AND attempts >= ?
                """, arguments: [runnerID, time, Job.maximumAttempts])
            for row in exhausted {
                try db.execute(sql: "UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?", arguments: [time, row["id"] as String])
                if let flowID: String = row["flow_id"] {
                    _ = try Self.settle(flowID: flowID, from: "exchanging", failure: FlowFailure(
                        code: BrokerErrorCode.runnerFailed, message: "The runner did not finish connecting after several tries. Check the runner's log."),
                        now: now, db)
                }
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM jobs
                WHERE runner_id = ? AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?))
                ORDER BY created_at, id LIMIT ?
                """, arguments: [runnerID, time, limit])
            var leased: [Job] = []
            for row in rows {
                guard var job = Self.job(row) else { continue }
                job.status = .leased
                job.attempts += 1
                job.leaseExpiresAt = now.addingTimeInterval(leaseDuration)
                try db.execute(sql: "UPDATE jobs SET status = 'leased', attempts = ?, lease_expires_at = ? WHERE id = ?",
                               arguments: [job.attempts, job.leaseExpiresAt!.timeIntervalSince1970, job.id])
                leased.append(job)
            }
            return leased
        }
    }

    public func completeJob(id: String, runnerID: String, outcome: JobOutcome, now: Date) async throws -> JobCompletion {
        try await write { db in
            guard let job = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ? AND runner_id = ?", arguments: [id, runnerID])
                .flatMap(Self.job)
            else { return .notFound }
            guard job.status == .queued || job.status == .leased else { return .duplicate }
            // A finished job keeps no sealed material: it has served its purpose.
            try db.execute(sql: "UPDATE jobs SET status = 'completed', payload = '{}', completed_at = ?, lease_expires_at = NULL WHERE id = ?",
                           arguments: [now.timeIntervalSince1970, id])
            try Self.prune(runnerID: runnerID, now: now.timeIntervalSince1970, db)
            switch outcome {
            case .connected(let connection):
                // The integration may have been deleted while the runner worked: drop the result.
                guard try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", arguments: [connection.integrationID]) == true
                else { return .applied }
                try Self.replaceConnection(connection, now: now, db)
                if let flowID = job.flowID {
                    try db.execute(sql: """
                        UPDATE connect_flows SET status = 'connected', connection_id = ?, completed_at = ? WHERE id = ? AND status = 'exchanging'
                        """, arguments: [connection.id, now.timeIntervalSince1970, flowID])
                }
            case .failed(let failure):
                if let flowID = job.flowID {
                    _ = try Self.settle(flowID: flowID, from: "exchanging", failure: failure, now: now, db)
                }
            case .succeeded:
                break
            case .recorded(let result):
                try db.execute(sql: "UPDATE jobs SET result = ? WHERE id = ?", arguments: [result, id])
            }
            return .applied
        }
    }

    /// Forgets finished jobs after a day. A withdrawn exchange keeps its sealed code only while
    /// a retry could still use it (10 minutes). Runs whenever one of the runner's jobs completes.
    static func prune(runnerID: String, now: Double, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM jobs WHERE runner_id = ? AND status IN ('completed', 'cancelled') AND completed_at < ?",
                       arguments: [runnerID, now - 86_400])
        try db.execute(sql: "UPDATE jobs SET payload = '{}' WHERE runner_id = ? AND status = 'cancelled' AND completed_at < ? AND payload != '{}'",
                       arguments: [runnerID, now - ConnectFlow.lifetime])
    }

    public func deleteJobs(ids: [String]) async throws {
        try await write { db in
            for id in ids { try db.execute(sql: "DELETE FROM jobs WHERE id = ?", arguments: [id]) }
        }
    }

    static func insert(_ job: Job, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO jobs (id, runner_id, kind, integration_id, flow_id, payload, status, lease_expires_at, attempts, created_at, completed_at, result)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                job.id, job.runnerID, job.kind.rawValue, job.integrationID, job.flowID, job.payload, job.status.rawValue,
                job.leaseExpiresAt?.timeIntervalSince1970, job.attempts, job.createdAt.timeIntervalSince1970,
                job.completedAt?.timeIntervalSince1970, job.result,
            ])
    }

    static func job(_ row: Row) -> Job? {
        guard let kind = Job.Kind(rawValue: row["kind"]), let status = Job.Status(rawValue: row["status"]) else { return nil }
        return Job(id: row["id"], runnerID: row["runner_id"], kind: kind, integrationID: row["integration_id"], flowID: row["flow_id"],
                   payload: row["payload"], status: status, leaseExpiresAt: date(row["lease_expires_at"]), attempts: row["attempts"],
                   createdAt: date(row["created_at"])!, completedAt: date(row["completed_at"]), result: row["result"])
    }
}
