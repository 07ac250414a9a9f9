import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The runner's work queue: `GET /runner/v1/jobs?wait=25&max=4` holds the request until a job
/// is there (or `wait` seconds pass) and leases what it returns; `POST /runner/v1/jobs/{id}/result`
/// reports one job's outcome, accepted once.
struct RunnerJobsController {
    let store: any Store
    let clock: BrokerClock
    let configuration: BrokerConfiguration
    let notifier: JobNotifier

    func addRoutes(to group: RouterGroup<RunnerContext>) {
        group.get("jobs", use: poll)
        group.post("jobs/{id}/result", use: result)
    }

    @Sendable func poll(_ request: Request, context: RunnerContext) async throws -> JSONResponse<[String: [RunnerJobRepresentation]]> {
        let wait = try Self.number(request, "wait", default: 0, range: 0...Int(configuration.maximumPollWait))
        let limit = try Self.number(request, "max", default: 4, range: 1...16)
        let deadline = ContinuousClock.now.advanced(by: .seconds(wait))
        var touched: ContinuousClock.Instant?
        while true {
            // "Seen lately" needs seconds, not every iteration: one write fewer on most wake-ups.
            if touched.map({ ContinuousClock.now - $0 >= Self.touchInterval }) ?? true {
                try await store.touchRunner(id: context.runnerID, at: clock.now)
                touched = ContinuousClock.now
            }
            let jobs = try await store.leaseJobs(runnerID: context.runnerID, limit: limit,
                                                 leaseDuration: configuration.jobLeaseDuration, now: clock.now)
            if !jobs.isEmpty {
                var representations: [RunnerJobRepresentation] = []
                for job in jobs {
                    guard let integration = try await integration(for: job) else {
                        // The integration was deleted with the job in the queue: nothing to do.
                        _ = try await store.completeJob(id: job.id, runnerID: job.runnerID, outcome: .failed(
                            FlowFailure(code: "integration_deleted", message: "The integration was removed.")), now: clock.now)
                        continue
                    }
                    representations.append(RunnerJobRepresentation(job, integration: integration, publicURL: configuration.publicURL))
                    context.logger.info("job leased", metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)",
                                                                "job.attempt": "\(job.attempts)"])
                }
                if !representations.isEmpty { return JSONResponse(["jobs": representations]) }
            }
            let remaining = deadline - ContinuousClock.now
            // A graceful shutdown (which reaches request handlers through the server's task) answers
            // held polls within a second instead of keeping the broker up for their whole wait.
            guard remaining > .zero, !Task.isCancelled, !Task.isShuttingDownGracefully else {
                return JSONResponse(["jobs": []])
            }
            await notifier.wait(runnerID: context.runnerID, timeout: min(remaining, .seconds(1)))
        }
    }

    @Sendable func result(_ request: Request, context: RunnerContext) async throws -> JSONResponse<[String: String]> {
        let id = try context.parameters.require("id")
        guard let job = try await store.job(id: id), job.runnerID == context.runnerID else { throw APIError.notFound("no such job") }
        let body = try await request.jsonObject()
        // A repeated report (the first answer was lost) is acknowledged without being read again.
        guard job.status == .queued || job.status == .leased else { return JSONResponse(["status": "duplicate"]) }
        let outcome = try await JobResultInput.parse(body, job: job, store: store, now: clock.now)
        switch try await store.completeJob(id: id, runnerID: context.runnerID, outcome: outcome, now: clock.now) {
        case .applied:
            context.logger.info("job completed", metadata: ["job.id": "\(id)", "job.outcome": "\(JobResultInput.name(outcome))"])
            return JSONResponse(["status": "accepted"])
        case .duplicate:
            return JSONResponse(["status": "duplicate"])
        case .notFound:
            throw APIError.notFound("no such job")
        }
    }

    /// The job's integration, or for a revocation of a deleted one, the integration as it was.
    private func integration(for job: Job) async throws -> Integration? {
        if let integration = try await store.integration(id: job.integrationID) { return integration }
        guard job.kind == .revokeConnection,
              let payload = try? JSONDecoder().decode(RevocationPayload.self, from: Data(job.payload.utf8))
        else { return nil }
        return payload.integration?.integration(at: job.createdAt)
    }

    /// How often a held poll records that its runner is alive (pages count a runner seen in
    /// the last 10 seconds as polling).
    static let touchInterval: Duration = .seconds(4)

    private static func number(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.invalidRequest("`\(name)` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}

/// A leased job as the runner receives it, with the integration it concerns.
struct RunnerJobRepresentation: Encodable {
    var id: String
    var kind: String
    var attempt: Int
    var leaseExpiresAt: Date?
    var integration: RunnerIntegrationRepresentation
    var payload: JobPayloadRepresentation

    init(_ job: Job, integration: Integration, publicURL: String) {
        id = job.id
        kind = job.kind.rawValue
        attempt = job.attempts
        leaseExpiresAt = job.leaseExpiresAt
        self.integration = RunnerIntegrationRepresentation(integration, publicURL: publicURL)
        payload = JobPayloadRepresentation(job)
    }
}

/// A job's stored payload, re-read as its type so the response is checked JSON.
enum JobPayloadRepresentation: Encodable {
    case exchange(ExchangePayload)
    case revocation(RevocationPayload)
    case pat(PATValidationPayload)
    case none

    init(_ job: Job) {
        let decoder = JSONDecoder()
        let data = Data(job.payload.utf8)
        switch job.kind {
        case .oauthExchange: self = (try? decoder.decode(ExchangePayload.self, from: data)).map(Self.exchange) ?? .none
        case .revokeConnection: self = (try? decoder.decode(RevocationPayload.self, from: data)).map(Self.revocation) ?? .none
        case .patValidation, .credentialValidation: self = (try? decoder.decode(PATValidationPayload.self, from: data)).map(Self.pat) ?? .none
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .exchange(let payload): try payload.encode(to: encoder)
        case .revocation(let payload): try payload.encode(to: encoder)
        case .pat(let payload): try payload.encode(to: encoder)
        case .none:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        }
    }
}
