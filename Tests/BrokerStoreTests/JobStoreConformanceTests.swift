import BrokerCore
import BrokerProtocol
import Foundation
import Testing

@Suite("Store conformance: jobs")
struct JobStoreConformanceTests {
    // MARK: leaseJobs

    @Test(arguments: StoreFixture.allCases)
    func enqueuedJobsRoundTrip(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let job = Job(id: Sample.id(), runnerID: runner.id, kind: .revokeConnection, integrationID: integration.id,
                      payload: #"{"connection_id":"c1","user":"alice","credentials":"jwe"}"#, createdAt: Sample.now)
        try await store.enqueueJob(job)
        #expect(try await store.job(id: job.id) == job)
        #expect(try await store.job(id: "unknown") == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func leasesTheRunnersOldestJobsUpToTheLimit(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (other, otherIntegration) = try await Sample.connectable(in: store, runnerName: "other")
        // Ids sort the other way round from creation, so the order can only come from the time.
        let newest = Sample.job(runnerID: runner.id, integrationID: integration.id, id: "a", createdAt: Sample.now.addingTimeInterval(2))
        let oldest = Sample.job(runnerID: runner.id, integrationID: integration.id, id: "c", createdAt: Sample.now)
        let middle = Sample.job(runnerID: runner.id, integrationID: integration.id, id: "b", createdAt: Sample.now.addingTimeInterval(1))
        let foreign = Sample.job(runnerID: other.id, integrationID: otherIntegration.id, id: "0", createdAt: Sample.now.addingTimeInterval(-10))
        for job in [newest, oldest, middle, foreign] { try await store.enqueueJob(job) }

        let at = Sample.now.addingTimeInterval(10)
        let first = try await store.leaseJobs(runnerID: runner.id, limit: 2, leaseDuration: 60, now: at)
        #expect(first.map(\.id) == ["c", "b"])
        for job in first {
            #expect(job.status == .leased)
            #expect(job.attempts == 1)
            #expect(job.leaseExpiresAt == at.addingTimeInterval(60))
            #expect(try await store.job(id: job.id) == job)
        }
        var expectedOldest = oldest
        expectedOldest.status = .leased
        expectedOldest.attempts = 1
        expectedOldest.leaseExpiresAt = at.addingTimeInterval(60)
        #expect(first.first == expectedOldest)

        let rest = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: at.addingTimeInterval(1))
        #expect(rest.map(\.id) == ["a"])
        #expect(try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: at.addingTimeInterval(2)).isEmpty)
        #expect(try await store.job(id: foreign.id) == foreign)

        let theirs = try await store.leaseJobs(runnerID: other.id, limit: 10, leaseDuration: 60, now: at)
        #expect(theirs.map(\.id) == [foreign.id])
        #expect(try await store.leaseJobs(runnerID: "unknown-runner", limit: 10, leaseDuration: 60, now: at).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func aLeaseHoldsUntilItRunsOut(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let job = Sample.job(runnerID: runner.id, integrationID: integration.id)
        try await store.enqueueJob(job)

        let first = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now)
        #expect(first.map(\.attempts) == [1])
        #expect(try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now.addingTimeInterval(59)).isEmpty)

        let again = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 90, now: Sample.now.addingTimeInterval(61))
        #expect(again.map(\.id) == [job.id])
        #expect(again.first?.attempts == 2)
        #expect(again.first?.status == .leased)
        #expect(again.first?.leaseExpiresAt == Sample.now.addingTimeInterval(151))
        #expect(try await store.job(id: job.id) == again.first)
        #expect(try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now.addingTimeInterval(150)).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func aJobWhoseLeaseRanOutTooOftenIsGivenUpAndItsFlowFails(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration)

        var time = Sample.now
        for attempt in 1...Job.maximumAttempts {
            let leased = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: time)
            #expect(leased.map(\.id) == [job.id])
            #expect(leased.first?.attempts == attempt)
            // Until the last lease runs out, the flow is still being exchanged.
            #expect(try await store.flow(id: flow.id)?.status == .exchanging)
            time = time.addingTimeInterval(61)
        }

        let afterLast = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: time)
        #expect(afterLast.isEmpty)
        #expect(try await store.job(id: job.id)?.status == .cancelled)
        let failed = try #require(try await store.flow(id: flow.id))
        #expect(failed.status == .failed)
        #expect(failed.failure?.code == "runner_failed")
        #expect(failed.completedAt == time)
        // A runner reporting late changes nothing.
        let late = Sample.connection(for: integration)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(late), now: time) == .duplicate)
        #expect(try await store.connection(id: late.id) == nil)
        #expect(try await store.flow(id: flow.id) == failed)
        #expect(try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: time.addingTimeInterval(600)).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func concurrentLeasesNeverHandOutAJobTwice(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        for index in 0..<20 {
            try await store.enqueueJob(Sample.job(runnerID: runner.id, integrationID: integration.id,
                                                  createdAt: Sample.now.addingTimeInterval(Double(index))))
        }
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await store.leaseJobs(runnerID: runner.id, limit: 4, leaseDuration: 60, now: Sample.now.addingTimeInterval(30)).map(\.id)
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 20)
        #expect(Set(ids).count == 20)
    }

    // MARK: completeJob

    @Test(arguments: StoreFixture.allCases)
    func aConnectedResultStoresTheConnectionAndConnectsTheFlowOnce(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        _ = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now.addingTimeInterval(1))

        let connection = Sample.connection(for: integration, user: "alice")
        let done = Sample.now.addingTimeInterval(20)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(connection), now: done) == .applied)
        #expect(try await store.connection(id: connection.id) == connection)
        #expect(try await store.connections(user: "alice") == [connection])
        let connected = try #require(try await store.flow(id: flow.id))
        #expect(connected.status == .connected)
        #expect(connected.connectionID == connection.id)
        #expect(connected.completedAt == done)
        #expect(connected.failure == nil)
        let completed = try #require(try await store.job(id: job.id))
        #expect(completed.status == .completed)
        #expect(completed.completedAt == done)

        // A second report, of whatever kind, changes nothing.
        let replacement = Sample.connection(for: integration, user: "alice", credentials: "jwe.other.credentials")
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(replacement),
                                            now: done.addingTimeInterval(1)) == .duplicate)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id,
                                            outcome: .failed(FlowFailure(code: "invalid_grant", message: "Expired.")),
                                            now: done.addingTimeInterval(2)) == .duplicate)
        #expect(try await store.connection(id: replacement.id) == nil)
        #expect(try await store.connections(user: "alice") == [connection])
        #expect(try await store.flow(id: flow.id) == connected)
        #expect(try await store.job(id: job.id) == completed)
        // No revocation was queued for the connection that stayed.
        #expect(try await Sample.drain(store, runnerID: runner.id, at: done.addingTimeInterval(3)).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func aFailedResultFailsTheFlow(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (exchanging, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        var flow = exchanging
        _ = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now.addingTimeInterval(1))

        let failure = FlowFailure(code: "invalid_grant", message: "The SCM refused the authorization code.")
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .failed(failure),
                                            now: Sample.now.addingTimeInterval(7)) == .applied)
        flow.status = .failed
        flow.failure = failure
        flow.completedAt = Sample.now.addingTimeInterval(7)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.job(id: job.id)?.status == .completed)
        #expect(try await store.connections(user: "alice").isEmpty)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .failed(failure),
                                            now: Sample.now.addingTimeInterval(8)) == .duplicate)
        #expect(try await store.job(id: job.id)?.completedAt == Sample.now.addingTimeInterval(7))
        #expect(try await store.flow(id: flow.id) == flow)
    }

    @Test(arguments: StoreFixture.allCases)
    func aSucceededResultCompletesAJobWithoutAFlow(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let job = Sample.job(runnerID: runner.id, integrationID: integration.id)
        try await store.enqueueJob(job)
        _ = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .succeeded, now: Sample.now.addingTimeInterval(5)) == .applied)
        let completed = try #require(try await store.job(id: job.id))
        #expect(completed.status == .completed)
        #expect(completed.completedAt == Sample.now.addingTimeInterval(5))
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .succeeded, now: Sample.now.addingTimeInterval(6)) == .duplicate)
        // A completed job is not leased again, even after its lease would have run out.
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now.addingTimeInterval(3600)).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func anotherRunnersJobIsNotFound(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (other, _) = try await Sample.connectable(in: store, runnerName: "other")
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration)
        let leased = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now)

        let forged = Sample.connection(for: integration)
        #expect(try await store.completeJob(id: job.id, runnerID: other.id, outcome: .connected(forged), now: Sample.now) == .notFound)
        #expect(try await store.connection(id: forged.id) == nil)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.job(id: job.id) == leased.first)
        #expect(try await store.completeJob(id: "unknown", runnerID: runner.id, outcome: .succeeded, now: Sample.now) == .notFound)

        // The job's own runner can still report.
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(forged), now: Sample.now) == .applied)
    }

    @Test(arguments: StoreFixture.allCases)
    func aCancelledJobIsADuplicate(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        let timeout = FlowFailure(code: "runner_offline", message: "No runner picked the connection up.")
        #expect(try await store.abandonUnclaimedExchange(flowID: flow.id, failure: timeout, now: Sample.now.addingTimeInterval(30)))
        let abandoned = try #require(try await store.flow(id: flow.id))

        let connection = Sample.connection(for: integration, user: "alice")
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(connection),
                                            now: Sample.now.addingTimeInterval(31)) == .duplicate)
        #expect(try await store.connection(id: connection.id) == nil)
        #expect(try await store.connections(user: "alice").isEmpty)
        #expect(try await store.flow(id: flow.id) == abandoned)
        #expect(try await store.job(id: job.id)?.status == .cancelled)
    }

    @Test(arguments: StoreFixture.allCases)
    func concurrentResultsAreAppliedOnce(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (_, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        let connections = (0..<6).map { Sample.connection(for: integration, user: "alice", credentials: "jwe.\($0)") }
        let results = try await withThrowingTaskGroup(of: JobCompletion.self) { group in
            for connection in connections {
                group.addTask {
                    try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(connection), now: Sample.now)
                }
            }
            return try await group.reduce(into: [JobCompletion]()) { $0.append($1) }
        }
        #expect(results.filter { $0 == .applied }.count == 1)
        #expect(results.filter { $0 == .duplicate }.count == connections.count - 1)
        #expect(try await store.connections(user: "alice").count == 1)
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now).isEmpty)
    }

    // MARK: Replacing a connection

    @Test(arguments: StoreFixture.allCases)
    func aNewConnectionReplacesTheUsersOlderOneAndQueuesItsRevocation(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let older = try await Sample.connect(in: store, integration: integration, user: "alice", credentials: "jwe.older.credentials")
        let bobs = try await Sample.connect(in: store, integration: integration, user: "bob", credentials: "jwe.bob.credentials")
        // Leave the exchange jobs behind: only revocations should be queued from here on.
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now).isEmpty)

        let later = Sample.now.addingTimeInterval(100)
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        _ = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: later)
        let newer = Sample.connection(for: integration, user: "alice", credentials: "jwe.newer.credentials", at: later)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(newer), now: later) == .applied)

        #expect(try await store.connection(id: older.id) == nil)
        #expect(try await store.connection(id: newer.id) == newer)
        #expect(try await store.connections(user: "alice") == [newer])
        #expect(try await store.connections(user: "bob") == [bobs])
        #expect(try await store.flow(id: flow.id)?.connectionID == newer.id)

        let queued = try await Sample.drain(store, runnerID: runner.id, at: later.addingTimeInterval(1))
        #expect(queued.count == 1)
        let revocation = try #require(queued.first)
        #expect(revocation.kind == .revokeConnection)
        #expect(revocation.runnerID == runner.id)
        #expect(revocation.integrationID == integration.id)
        #expect(revocation.flowID == nil)
        let payload = try Sample.revocation(revocation)
        #expect(payload == RevocationPayload(connectionID: older.id, user: "alice", credentials: "jwe.older.credentials"))
    }
}
