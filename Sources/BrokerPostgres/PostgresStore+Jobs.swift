import BrokerCore
import BrokerProtocol
import Foundation

extension PostgresStore {
    public func enqueueJob(_ job: Job) async throws {
        try await write { db in try await Self.insert(job, db) }
    }

    public func job(id: String) async throws -> Job? {
        try await read { db in try await db.fetchOne("SELECT * FROM jobs WHERE id = ?", [id]).flatMap(Self.job) }
    }

    public func leaseJobs(runnerID: String, limit: Int, leaseDuration: TimeInterval, now: Date) async throws -> [Job] {
        // Held polls ask every second and usually find nothing: a read (no transaction) says so.
        let hasWork = try await read { db in
            try await db.exists("""
                SELECT EXISTS(SELECT 1 FROM jobs WHERE runner_id = ? AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?)))
                """, [runnerID, now])
        }
        guard hasWork else { return [] }
        return try await write { db in
            // Jobs whose lease ran out too often are given up, so one poisonous job cannot
            // crash-loop its runner forever.
            let exhausted = try await db.fetchAll("""
                SELECT id, flow_id FROM jobs
                WHERE runner_id = ? AND status = 'leased' AND lease_expires_at <= ? AND attempts >= ?
                """, [runnerID, now, Job.maximumAttempts])
            for row in exhausted {
                try await db.execute("UPDATE jobs SET status = 'cancelled', completed_at = ? WHERE id = ?", [now, try row["id"] as String])
                if let flowID: String = try row["flow_id"] {
                    _ = try await Self.settle(flowID: flowID, from: "exchanging", failure: FlowFailure(
                        code: BrokerErrorCode.runnerFailed, message: "The runner did not finish connecting after several tries. Check the runner's log."),
                        now: now, db)
                }
            }
            let rows = try await db.fetchAll("""
                SELECT * FROM jobs
                WHERE runner_id = ? AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?))
                ORDER BY created_at, id LIMIT ?
                """, [runnerID, now, limit])
            var leased: [Job] = []
            for row in rows {
                guard var job = try Self.job(row) else { continue }
                job.status = .leased
                job.attempts += 1
                let expiresAt = now.addingTimeInterval(leaseDuration)
                job.leaseExpiresAt = expiresAt
                try await db.execute("UPDATE jobs SET status = 'leased', attempts = ?, lease_expires_at = ? WHERE id = ?",
                                     [job.attempts, expiresAt, job.id])
                leased.append(job)
            }
            return leased
        }
    }

    public func completeJob(id: String, runnerID: String, outcome: JobOutcome, now: Date) async throws -> JobCompletion {
        try await write { db in
            guard let job = try await db.fetchOne("SELECT * FROM jobs WHERE id = ? AND runner_id = ?", [id, runnerID]).flatMap(Self.job)
            else { return .notFound }
            guard job.status == .queued || job.status == .leased else { return .duplicate }
            // A finished job keeps no sealed material: it has served its purpose.
            try await db.execute("UPDATE jobs SET status = 'completed', payload = '{}', completed_at = ?, lease_expires_at = NULL WHERE id = ?",
                                 [now, id])
            try await Self.prune(runnerID: runnerID, now: now.timeIntervalSince1970, db)
            switch outcome {
            case .connected(let connection):
                // The integration may have been deleted while the runner worked: drop the result.
                guard try await db.exists("SELECT EXISTS(SELECT 1 FROM integrations WHERE id = ?)", [connection.integrationID])
                else { return .applied }
                try await Self.replaceConnection(connection, now: now, db)
                if let flowID = job.flowID {
                    try await db.execute("""
                        UPDATE connect_flows SET status = 'connected', connection_id = ?, completed_at = ? WHERE id = ? AND status = 'exchanging'
                        """, [connection.id, now, flowID])
                }
            case .failed(let failure):
                if let flowID = job.flowID {
                    _ = try await Self.settle(flowID: flowID, from: "exchanging", failure: failure, now: now, db)
                }
            case .succeeded:
                break
            case .recorded(let result):
                try await db.execute("UPDATE jobs SET result = ? WHERE id = ?", [result, id])
            }
            return .applied
        }
    }

    /// Forgets finished jobs after a day. A withdrawn exchange keeps its sealed code only while
    /// a retry could still use it (10 minutes). Runs whenever one of the runner's jobs completes.
    static func prune(runnerID: String, now: Double, _ db: SQLSession) async throws {
        try await db.execute("DELETE FROM jobs WHERE runner_id = ? AND status IN ('completed', 'cancelled') AND completed_at < ?",
                             [runnerID, now - 86_400])
        try await db.execute("UPDATE jobs SET payload = '{}' WHERE runner_id = ? AND status = 'cancelled' AND completed_at < ? AND payload != '{}'",
                             [runnerID, now - ConnectFlow.lifetime])
    }

    public func deleteJobs(ids: [String]) async throws {
        try await write { db in
            for id in ids { try await db.execute("DELETE FROM jobs WHERE id = ?", [id]) }
        }
    }

    static func insert(_ job: Job, _ db: SQLSession) async throws {
        // Delivered to every listening broker when (and only if) this transaction commits.
        try await db.execute("SELECT pg_notify(?, ?)", [db.jobChannel, job.runnerID])
        try await db.execute("""
            INSERT INTO jobs (id, runner_id, kind, integration_id, flow_id, payload, status, lease_expires_at, attempts, created_at, completed_at, result)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                job.id, job.runnerID, job.kind.rawValue, job.integrationID, job.flowID, job.payload, job.status.rawValue,
                job.leaseExpiresAt, job.attempts, job.createdAt, job.completedAt, job.result,
            ])
    }

    static func job(_ row: SQLRow) throws -> Job? {
        guard let kind = Job.Kind(rawValue: try row["kind"]), let status = Job.Status(rawValue: try row["status"]) else { return nil }
        return Job(id: try row["id"], runnerID: try row["runner_id"], kind: kind, integrationID: try row["integration_id"],
                   flowID: try row["flow_id"], payload: try row["payload"], status: status,
                   leaseExpiresAt: try row.optionalDate("lease_expires_at"), attempts: try row["attempts"],
                   createdAt: try row.date("created_at"), completedAt: try row.optionalDate("completed_at"), result: try row["result"])
    }
}
