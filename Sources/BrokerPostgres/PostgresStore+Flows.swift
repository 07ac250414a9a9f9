import BrokerCore
import Foundation

extension PostgresStore {
    public func insertConnectTicket(_ ticket: ConnectTicket, now: Date) async throws {
        try await write { db in
            try await db.execute("INSERT INTO connect_tickets (token_hash, user_name, integration_id, expires_at) VALUES (?, ?, ?, ?)",
                                 [ticket.tokenHash, ticket.user, ticket.integrationID, ticket.expiresAt])
        }
        await cleanUp("DELETE FROM connect_tickets WHERE expires_at <= ?", [now])
    }

    public func startFlow(ticketHash: String, flow: ConnectFlow, now: Date) async throws -> ConnectFlow? {
        // Flows outlive their usefulness after a day; keep the table small.
        await cleanUp("DELETE FROM connect_flows WHERE created_at < ?", [now.timeIntervalSince1970 - 86_400])
        return try await write { db in
            // Spent by the DELETE itself: of two racing spends, one deletes the row, the other nothing.
            guard let row = try await db.fetchOne("""
                DELETE FROM connect_tickets WHERE token_hash = ? AND integration_id = ? AND expires_at > ? RETURNING user_name
                """, [ticketHash, flow.integrationID, now])
            else { return nil }
            var started = flow
            started.user = try row["user_name"]
            try await Self.insert(started, db)
            return started
        }
    }

    public func flow(id: String) async throws -> ConnectFlow? {
        try await read { db in try await db.fetchOne("SELECT * FROM connect_flows WHERE id = ?", [id]).flatMap(Self.flow) }
    }

    public func flow(stateHash: String) async throws -> ConnectFlow? {
        try await read { db in try await db.fetchOne("SELECT * FROM connect_flows WHERE state_hash = ?", [stateHash]).flatMap(Self.flow) }
    }

    public func beginExchange(flowID: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            let changed = try await db.execute("""
                UPDATE connect_flows SET status = 'exchanging', job_id = ?, callback_at = ? WHERE id = ? AND status = 'started'
                """, [job.id, now, flowID])
            guard changed == 1 else { return false }
            try await Self.insert(job, db)
            return true
        }
    }

    public func failStartedFlow(id: String, failure: FlowFailure, now: Date) async throws -> Bool {
        try await write { db in try await Self.settle(flowID: id, from: "started", failure: failure, now: now, db) }
    }

    public func abandonUnclaimedExchange(flowID: String, failure: FlowFailure, now: Date) async throws -> Bool {
        try await write { db in
            let changed = try await db.execute("""
                UPDATE jobs SET status = 'cancelled', completed_at = ?, lease_expires_at = NULL
                WHERE id = (SELECT job_id FROM connect_flows WHERE id = ? AND status = 'exchanging')
                    AND (status = 'queued' OR (status = 'leased' AND lease_expires_at <= ?))
                """, [now, flowID, now])
            guard changed == 1 else { return false }
            return try await Self.settle(flowID: flowID, from: "exchanging", failure: failure, now: now, db)
        }
    }

    public func retryExchange(flowID: String, failureCode: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            let changed = try await db.execute("""
                UPDATE connect_flows SET status = 'exchanging', job_id = ?, failure_code = NULL, failure_message = NULL,
                    completed_at = NULL, callback_at = ?
                WHERE id = ? AND status = 'failed' AND failure_code = ?
                """, [job.id, now, flowID, failureCode])
            guard changed == 1 else { return false }
            try await Self.insert(job, db)
            return true
        }
    }

    public func restartFlow(id: String, stateHash: String, sealedCodeVerifier: String?, now: Date) async throws -> Bool {
        try await write { db in
            try await db.execute("""
                UPDATE connect_flows SET status = 'started', state_hash = ?, code_verifier_jwe = ?, failure_code = NULL,
                    failure_message = NULL, job_id = NULL, connection_id = NULL, callback_at = NULL, completed_at = NULL
                WHERE id = ? AND status = 'failed'
                """, [stateHash, sealedCodeVerifier, id]) == 1
        }
    }

    public func setFlowState(id: String, stateHash: String) async throws -> Bool {
        try await write { db in
            try await db.execute("UPDATE connect_flows SET state_hash = ? WHERE id = ? AND status IN ('started', 'failed')",
                                 [stateHash, id]) == 1
        }
    }

    public func beginPATValidation(flowID: String, stateHash: String, newStateHash: String, job: Job, now: Date) async throws -> Bool {
        try await write { db in
            let changed = try await db.execute("""
                UPDATE connect_flows SET status = 'exchanging', state_hash = ?, job_id = ?, callback_at = ?, failure_code = NULL,
                    failure_message = NULL, completed_at = NULL
                WHERE id = ? AND kind = 'pat' AND state_hash = ? AND status IN ('started', 'failed')
                """, [newStateHash, job.id, now, flowID, stateHash])
            guard changed == 1 else { return false }
            try await Self.insert(job, db)
            return true
        }
    }

    /// Moves a flow in `status` to `failed`. False when it was in another state.
    static func settle(flowID: String, from status: String, failure: FlowFailure, now: Date, _ db: SQLSession) async throws -> Bool {
        try await db.execute("""
            UPDATE connect_flows SET status = 'failed', failure_code = ?, failure_message = ?, completed_at = ?
            WHERE id = ? AND status = ?
            """, [failure.code, failure.message, now, flowID, status]) == 1
    }

    static func insert(_ flow: ConnectFlow, _ db: SQLSession) async throws {
        try await db.execute("""
            INSERT INTO connect_flows (id, integration_id, runner_id, user_name, state_hash, browser_hash, code_verifier_jwe,
                status, failure_code, failure_message, job_id, connection_id, created_at, callback_at, completed_at, kind)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                flow.id, flow.integrationID, flow.runnerID, flow.user, flow.stateHash, flow.browserHash, flow.sealedCodeVerifier,
                flow.status.rawValue, flow.failure?.code, flow.failure?.message, flow.jobID, flow.connectionID,
                flow.createdAt, flow.callbackAt, flow.completedAt, flow.kind.rawValue,
            ])
    }

    static func flow(_ row: SQLRow) throws -> ConnectFlow? {
        guard let status = ConnectFlow.Status(rawValue: try row["status"]), let kind = Connection.Kind(rawValue: try row["kind"]) else {
            return nil
        }
        let failureCode: String? = try row["failure_code"]
        let failureMessage: String? = try row["failure_message"]
        return ConnectFlow(
            id: try row["id"], kind: kind, integrationID: try row["integration_id"], runnerID: try row["runner_id"],
            user: try row["user_name"], stateHash: try row["state_hash"], browserHash: try row["browser_hash"],
            sealedCodeVerifier: try row["code_verifier_jwe"], status: status,
            failure: failureCode.map { FlowFailure(code: $0, message: failureMessage ?? "") },
            jobID: try row["job_id"], connectionID: try row["connection_id"], createdAt: try row.date("created_at"),
            callbackAt: try row.optionalDate("callback_at"), completedAt: try row.optionalDate("completed_at"))
    }
}
