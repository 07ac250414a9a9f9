import AsyncHTTPClient
import BrokerProtocol
import Foundation
import Logging
import ServiceLifecycle

/// The runner agent: authenticates with its key, long-polls the broker for jobs, runs them
/// concurrently (bounded) and reports each result. When the broker is unreachable it
/// reconnects with jittered backoff. On graceful shutdown it stops polling and finishes the
/// jobs it holds; a job it cannot finish goes back to the broker's queue when its lease ends.
public struct RunnerService: Service {
    /// The broker leases at most this many jobs per poll.
    static let maximumJobsPerPoll = 16

    public struct Options: Sendable {
        /// How long one poll is held open by the broker.
        public var pollWait: Int = 25
        /// Jobs run at once.
        public var concurrency: Int = 4
        public var retryInitial: Duration = .milliseconds(500)
        public var retryMaximum: Duration = .seconds(15)

        public init() {}
    }

    let runnerID: String
    let broker: BrokerClient
    let tokens: AccessTokenCache
    let executor: JobExecutor
    let options: Options
    let logger: Logger

    /// - Parameter tokens: the process's broker access token; share one with the
    ///   `CloneCredentialProvider` of the same process, so that it signs one assertion, not two.
    public init(runnerID: String, keys: RunnerKeys, broker: BrokerClient, transport: SCMTransport, options: Options = Options(),
                tokens: AccessTokenCache? = nil, logger: Logger = Logger(label: "scm-runner")) {
        self.runnerID = runnerID
        self.broker = broker
        self.tokens = tokens ?? AccessTokenCache(client: broker, runnerID: runnerID, keys: keys)
        self.executor = JobExecutor(keys: keys, transport: transport, logger: logger)
        self.options = options
        self.logger = logger
    }

    public func run() async throws {
        let slots = JobSlots(max(1, options.concurrency))
        let running = RunningJobs()
        let (jobs, intake) = AsyncStream<LeasedJob>.makeStream()
        logger.info("runner agent started", metadata: ["runner.id": "\(runnerID)", "broker": "\(broker.brokerURL)"])
        await withTaskGroup(of: Void.self) { group in
            // Jobs run outside the poll's cancellation: a shutdown stops polling, not work in hand.
            group.addTask {
                await withTaskGroup(of: Void.self) { workers in
                    for await job in jobs {
                        workers.addTask {
                            await self.handle(job)
                            await running.finish(job.id)
                            await slots.release()
                        }
                    }
                }
            }
            group.addTask {
                defer { intake.finish() }
                try? await cancelWhenGracefulShutdown {
                    try await self.pollLoop(slots: slots, running: running, intake: intake)
                }
            }
        }
        logger.info("runner agent stopped", metadata: ["runner.id": "\(runnerID)"])
    }

    private func pollLoop(slots: JobSlots, running: RunningJobs, intake: AsyncStream<LeasedJob>.Continuation) async throws {
        var backoff = Backoff(initial: options.retryInitial, maximum: options.retryMaximum)
        while !Task.isCancelled {
            let free = await slots.available()
            do {
                let token = try await tokens.current()
                let listing = try await broker.poll(accessToken: token, wait: options.pollWait, max: min(free, Self.maximumJobsPerPoll))
                backoff.reset()
                for id in listing.unreadable {
                    logger.error("a leased job cannot be read by this runner; is the broker newer?", metadata: ["job.id": "\(id)"])
                    _ = try? await broker.postResult(.failed(ReportedFailure(
                        code: RunnerFailureCode.unsupportedJob.rawValue,
                        message: "The runner cannot read this job; upgrade the runner to the broker's version.")), jobID: id, accessToken: token)
                }
                for job in listing.jobs {
                    // A job this process still runs came back because its lease ran out: running
                    // it twice would spend the same authorization code twice.
                    guard await running.start(job.id) else {
                        logger.warning("job leased again while still running here; ignored", metadata: ["job.id": "\(job.id)"])
                        continue
                    }
                    await slots.take()
                    intake.yield(job)
                }
            } catch is CancellationError {
                return
            } catch BrokerClientError.unauthorized {
                await tokens.invalidate()
            } catch {
                let delay = backoff.next()
                logger.warning("cannot poll the broker; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
            }
        }
    }

    /// Runs a job and reports its result, retrying the report while the broker is unreachable
    /// (for up to about a lease; after that the job is someone else's).
    private func handle(_ job: LeasedJob) async {
        logger.info("job started", metadata: ["job.id": "\(job.id)", "job.kind": "\(job.kind.rawValue)", "job.attempt": "\(job.attempt)"])
        let result = await executor.execute(job)
        // Cancelled (not a graceful shutdown, which lets jobs finish): report nothing, and the
        // lease returns the job to the queue.
        guard !Task.isCancelled else { return }
        if case .failed(let failure) = result {
            logger.warning("job failed", metadata: ["job.id": "\(job.id)", "error": "\(failure.code)"])
        }
        var backoff = Backoff(initial: options.retryInitial, maximum: options.retryMaximum)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !Task.isCancelled {
            do {
                let token = try await tokens.current()
                let verdict = try await broker.postResult(result, jobID: job.id, accessToken: token)
                logger.info("job reported", metadata: ["job.id": "\(job.id)", "broker.verdict": "\(verdict.rawValue)"])
                return
            } catch BrokerClientError.unauthorized {
                await tokens.invalidate()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("cannot report a job result; retrying", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
                do { try await Task.sleep(for: backoff.next()) } catch { return }
            }
        }
        logger.error("gave up reporting a job result", metadata: ["job.id": "\(job.id)"])
    }
}

/// Ids of the jobs this process is running.
actor RunningJobs {
    private var ids: Set<String> = []

    /// False when the job is already running here.
    func start(_ id: String) -> Bool {
        ids.insert(id).inserted
    }

    func finish(_ id: String) {
        ids.remove(id)
    }
}
