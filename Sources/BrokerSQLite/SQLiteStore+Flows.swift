import BrokerCore
import Foundation
import GRDB

extension SQLiteStore {
    public func insertConnectTicket(_ ticket: ConnectTicket, now: Date) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM connect_tickets WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            try db.execute(sql: "INSERT INTO connect_tickets (token_hash, user_name, integration_id, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [ticket.tokenHash, ticket.user, ticket.integrationID, ticket.expiresAt.timeIntervalSince1970])
        }
    }

    public func startFlow(ticketHash: String, flow: ConnectFlow, now: Date) async throws -> ConnectFlow? {
        try await write { db in
            guard let user = try String.fetchOne(db, sql: """
                SELECT user_name FROM connect_tickets WHERE token_hash = ? AND integration_id = ? AND expires_at > ?
                """, arguments: [ticketHash, flow.integrationID, now.timeIntervalSince1970])
            else { return nil }
            try db.execute(sql: "DELETE FROM connect_tickets WHERE token_hash = ?", arguments: [ticketHash])
            // Flows outlive their usefulness after a day; keep the table small.
            try db.execute(sql: "DELETE FROM connect_flows WHERE created_at < ?", arguments: [now.timeIntervalSince1970 - 86_400])
            var started = flow
            started.user = user
            try Self.insert(started, db)
            return started
        }
    }

    public func flow(id: String) async throws -> ConnectFlow? {
        try await read { db in try Self.flow(db, "id", id) }
    }

    public func flow(stateHash: String) async throws -> ConnectFlow? {
        try await read { db in try Self.flow(db, "state_hash", stateHash) }
    }

    public func beginExchange(flowID: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE connect_flows SET status = 'exchanging', job_id = ?, callback_at = ? WHERE id = ? AND status = 'started'
                """, arguments: [job.id, now.timeIntervalSince1970, flowID])
            guard db.changesCount == 1 else { return false }
            try Self.insert(job, db)
            return true
        }
    }

    public func failStartedFlow(id: String, failure: FlowFailure, now: Date) async throws -> Bool {
        try await write { db in
            try Self.settle(flowID: id, from: "started", failure: failure, now: now, db)
        }
    }

    public func abandonUnclaimedExchange(flowID: String, failure: FlowFailure, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE jobs SET status = 'cancelled', completed_at = ?, lease_expires_at = NULL
                WHERE id = (SELECT job_id FROM connect_flows WHERE id = ? AND status = 'exchanging')
                    AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?))
                """, arguments: [now.timeIntervalSince1970, flowID, now.timeIntervalSince1970])
            guard db.changesCount == 1 else { return false }
            return try Self.settle(flowID: flowID, from: "exchanging", failure: failure, now: now, db)
        }
    }

    public func retryExchange(flowID: String, failureCode: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE connect_flows SET status = 'exchanging', job_id = ?, failure_code = NULL, failure_message = NULL,
                    completed_at = NULL, callback_at = ?
                WHERE id = ? AND status = 'failed' AND failure_code = ?
                """, arguments: [job.id, now.timeIntervalSince1970, flowID, failureCode])
            guard db.changesCount == 1 else { return false }
            try Self.insert(job, db)
            return true
        }
    }

    public func restartFlow(id: String, stateHash: String, sealedCodeVerifier: String?, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE connect_flows SET status = 'started', state_hash = ?, code_verifier_jwe = ?, failure_code = NULL,
                    failure_message = NULL, job_id = NULL, connection_id = NULL, callback_at = NULL, completed_at = NULL
                WHERE id = ? AND status = 'failed'
                """, arguments: [stateHash, sealedCodeVerifier, id])
            return db.changesCount == 1
        }
    }

    public func setFlowState(id: String, stateHash: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE connect_flows SET state_hash = ? WHERE id = ? AND status IN ('started', 'failed')",
                           arguments: [stateHash, id])
            return db.changesCount == 1
        }
    }

    public func beginPATValidation(flowID: String, stateHash: String, newStateHash: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: """
                UPDATE connect_flows SET status = 'exchanging', state_hash = ?, job_id = ?, callback_at = ?, failure_code = NULL,
                    failure_message = NULL, completed_at = NULL
                WHERE id = ? AND kind = 'pat' AND state_hash = ? AND status IN ('started', 'failed')
                """, arguments: [newStateHash, job.id, now.timeIntervalSince1970, flowID, stateHash])
            guard db.changesCount == 1 else { return false }
            try Self.insert(job, db)
            return true
        }
    }

    /// Moves a flow in `status` to `failed`. False when it was in another state.
    static func settle(flowID: String, from status: String, failure: FlowFailure, now: Date, _ db: Database) throws -> Bool {
        try db.execute(sql: """
            UPDATE connect_flows SET status = 'failed', failure_code = ?, failure_message = ?, completed_at = ?
            WHERE id = ? AND status = ?
            """, arguments: [failure.code, failure.message, now.timeIntervalSince1970, flowID, status])
        return db.changesCount == 1
    }

    static func insert(_ flow: ConnectFlow, _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO connect_flows (id, integration_id, runner_id, user_name, state_hash, browser_hash, code_verifier_jwe,
                status, failure_code, failure_message, job_id, connection_id, created_at, callback_at, completed_at, kind)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                flow.id, flow.integrationID, flow.runnerID, flow.user, flow.stateHash, flow.browserHash, flow.sealedCodeVerifier,
                flow.status.rawValue, flow.failure?.code, flow.failure?.message, flow.jobID, flow.connectionID,
                flow.createdAt.timeIntervalSince1970, flow.callbackAt?.timeIntervalSince1970, flow.completedAt?.timeIntervalSince1970,
                flow.kind.rawValue,
            ])
    }

    private static func flow(_ db: Database, _ column: String, _ value: String) throws -> ConnectFlow? {
        try Row.fetchOne(db, sql: "SELECT * FROM connect_flows WHERE \(column) = ?", arguments: [value]).flatMap { row in
            guard let status = ConnectFlow.Status(rawValue: row["status"]), let kind = Connection.Kind(rawValue: row["kind"]) else { return nil }
            let failureCode: String? = row["failure_code"]
            return ConnectFlow(
                id: row["id"], kind: kind, integrationID: row["integration_id"], runnerID: row["runner_id"], user: row["user_name"],
                stateHash: row["state_hash"], browserHash: row["browser_hash"], sealedCodeVerifier: row["code_verifier_jwe"],
                status: status, failure: failureCode.map { FlowFailure(code: $0, message: row["failure_message"] ?? "") },
                jobID: row["job_id"], connectionID: row["connection_id"], createdAt: date(row["created_at"])!,
                callbackAt: date(row["callback_at"]), completedAt: date(row["completed_at"]))
        }
    }

    static func date(_ value: Double?) -> Date? {
        value.map(Date.init(timeIntervalSince1970:))
    }
}
