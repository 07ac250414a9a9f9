import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The runner's work queue: `GET /runner/v1/jobs?wait=25&max=4` holds the request until a job
/// is there (or `wait` seconds pass) and leases what it returns; `POST /runner/v1/jobs/{id}/result`
/// reports one job's outcome, accepted once.
struct RunnerJobsController {
    typealias Stores = JobQueue & RunnerStore & IntegrationStore

    let store: any Stores
    let clock: BrokerClock
    let configuration: BrokerConfiguration
    let notifier: JobNotifier

    func addRoutes(to group: RouterGroup<RunnerContext>) {
        group.get("jobs", use: poll)
        group.post("jobs/{id}/result", use: result)
    }

    @Sendable func poll(_ request: Request, context: RunnerContext) async throws -> JSONResponse<JobListing> {
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
                var leased: [LeasedJob] = []
                for job in jobs {
                    guard let integration = try await integration(for: job) else {
                        // The integration was deleted with the job in the queue: nothing to do.
                        _ = try await store.completeJob(id: job.id, runnerID: job.runnerID, outcome: .failed(
                            FlowFailure(code: BrokerErrorCode.integrationDeleted, message: "The integration was removed.")), now: clock.now)
                        continue
                    }
                    guard let payload = job.decodedPayload else {
                        // Only the broker writes payloads, each from its type: one that does not read
                        // back is a bug, and handing it to the runner would not help.
                        context.logger.error("job payload unreadable", metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)"])
                        _ = try await store.completeJob(id: job.id, runnerID: job.runnerID, outcome: .failed(
                            FlowFailure(code: BrokerErrorCode.internalError, message: "The broker could not read the job.")), now: clock.now)
                        continue
                    }
                    leased.append(LeasedJob(id: job.id, kind: job.kind, attempt: job.attempts, leaseExpiresAt: job.leaseExpiresAt,
                                            integration: RunnerIntegration(integration, publicURL: configuration.publicURL), payload: payload))
                    context.logger.info("job leased", metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)",
                                                                "job.attempt": "\(job.attempts)"])
                }
                if !leased.isEmpty { return JSONResponse(JobListing(jobs: leased)) }
            }
            let remaining = deadline - ContinuousClock.now
            // A graceful shutdown (which reaches request handlers through the server's task) answers
            // held polls within a second instead of keeping the broker up for their whole wait.
            guard remaining > .zero, !Task.isCancelled, !Task.isShuttingDownGracefully else {
                return JSONResponse(JobListing(jobs: []))
            }
            await notifier.wait(runnerID: context.runnerID, timeout: min(remaining, .seconds(configuration.pollRecheckInterval)))
        }
    }

    @Sendable func result(_ request: Request, context: RunnerContext) async throws -> JSONResponse<JobReportReceipt> {
        let id = try context.parameters.require("id")
        guard let job = try await store.job(id: id), job.runnerID == context.runnerID else { throw APIError.notFound("no such job") }
        let body = try await request.jsonObject()
        // A repeated report (the first answer was lost) is acknowledged without being read again.
        guard job.status == .queued || job.status == .leased else { return JSONResponse(JobReportReceipt(status: .duplicate)) }
        let report = try StrictJSONDecoder().decode(JobReport.self, from: body.value)
        let outcome = try await JobResultInput.outcome(of: report, job: job, store: store, now: clock.now)
        switch try await store.completeJob(id: id, runnerID: context.runnerID, outcome: outcome, now: clock.now) {
        case .applied:
            context.logger.info("job completed", metadata: ["job.id": "\(id)", "job.outcome": "\(JobResultInput.name(outcome))"])
            return JSONResponse(JobReportReceipt(status: .accepted))
        case .duplicate:
            return JSONResponse(JobReportReceipt(status: .duplicate))
        case .notFound:
            throw APIError.notFound("no such job")
        }
    }

    /// The job's integration, or for a revocation of a deleted one, the integration as it was.
    private func integration(for job: Job) async throws -> Integration? {
        if let integration = try await store.integration(id: job.integrationID) { return integration }
        return job.deletedIntegration?.integration(at: job.createdAt)
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
