import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: service tokens, connect tickets and flows")
struct ConnectFlowStoreConformanceTests {
    // MARK: Service tokens

    @Test(arguments: StoreFixture.allCases)
    func serviceTokensAreFoundByHash(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let token = Sample.serviceToken(hash: "svc-hash-1")
        let other = Sample.serviceToken(hash: "svc-hash-2", name: "second")
        try await store.insertServiceToken(token)
        try await store.insertServiceToken(other)
        #expect(try await store.serviceToken(hash: "svc-hash-1") == token)
        #expect(try await store.serviceToken(hash: "svc-hash-2") == other)
        #expect(try await store.serviceToken(hash: "unknown") == nil)
        // Found by its hash only, not by its id or name.
        #expect(try await store.serviceToken(hash: token.id) == nil)
        #expect(try await store.serviceToken(hash: token.name) == nil)
    }

    // MARK: Tickets

    @Test(arguments: StoreFixture.allCases)
    func aTicketStartsOneFlowForItsUser(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let ticket = Sample.ticket(for: integration, user: "alice")
        try await store.insertConnectTicket(ticket, now: Sample.now)

        let first = Sample.flow(for: integration)
        let started = try #require(try await store.startFlow(ticketHash: ticket.tokenHash, flow: first, now: Sample.now))
        var expected = first
        expected.user = "alice"
        #expect(started == expected)
        #expect(try await store.flow(id: first.id) == expected)

        let second = Sample.flow(for: integration)
        let again = try await store.startFlow(ticketHash: ticket.tokenHash, flow: second, now: Sample.now)
        #expect(again == nil)
        #expect(try await store.flow(id: second.id) == nil)
        #expect(try await store.flow(stateHash: second.stateHash) == nil)
        // The first flow is untouched by the refused attempt.
        #expect(try await store.flow(id: first.id) == expected)
    }

    @Test(arguments: StoreFixture.allCases)
    func anUnknownTicketStartsNothing(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let flow = Sample.flow(for: integration)
        let started = try await store.startFlow(ticketHash: "never-issued", flow: flow, now: Sample.now)
        #expect(started == nil)
        #expect(try await store.flow(id: flow.id) == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func anExpiredTicketStartsNothing(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let ticket = Sample.ticket(for: integration, expiresIn: 600)
        try await store.insertConnectTicket(ticket, now: Sample.now)
        let flow = Sample.flow(for: integration, createdAt: Sample.now.addingTimeInterval(601))
        let late = try await store.startFlow(ticketHash: ticket.tokenHash, flow: flow, now: Sample.now.addingTimeInterval(601))
        #expect(late == nil)
        #expect(try await store.flow(id: flow.id) == nil)
        #expect(try await store.flow(stateHash: flow.stateHash) == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func aTicketForAnotherIntegrationStartsNothingAndStaysUsable(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let other = Sample.integration(runnerID: runner.id, name: "other-org")
        try await store.insertIntegration(other)
        let ticket = Sample.ticket(for: integration, user: "alice")
        try await store.insertConnectTicket(ticket, now: Sample.now)

        let wrong = Sample.flow(for: other)
        let refused = try await store.startFlow(ticketHash: ticket.tokenHash, flow: wrong, now: Sample.now)
        #expect(refused == nil)
        #expect(try await store.flow(id: wrong.id) == nil)

        let right = Sample.flow(for: integration)
        let started = try await store.startFlow(ticketHash: ticket.tokenHash, flow: right, now: Sample.now)
        #expect(started?.id == right.id)
        #expect(started?.user == "alice")
        #expect(try await store.flow(id: right.id)?.user == "alice")
    }

    @Test(arguments: StoreFixture.allCases)
    func aTicketForAMissingIntegrationIsNotFound(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let orphan = ConnectTicket(tokenHash: "orphan", user: "alice", integrationID: "no-such-integration",
                                   expiresAt: Sample.now.addingTimeInterval(600))
        let error = await #expect(throws: StoreError.self) { try await store.insertConnectTicket(orphan, now: Sample.now) }
        #expect(error?.code == .notFound)

        // Same for an integration deleted in the meantime.
        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        let late = Sample.ticket(for: integration)
        let lateError = await #expect(throws: StoreError.self) { try await store.insertConnectTicket(late, now: Sample.now) }
        #expect(lateError?.code == .notFound)
    }

    @Test(arguments: StoreFixture.allCases)
    func concurrentStartsSpendATicketOnce(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let ticket = Sample.ticket(for: integration)
        try await store.insertConnectTicket(ticket, now: Sample.now)
        let flows = (0..<8).map { _ in Sample.flow(for: integration) }
        let started = try await withThrowingTaskGroup(of: ConnectFlow?.self) { group in
            for flow in flows {
                group.addTask { try await store.startFlow(ticketHash: ticket.tokenHash, flow: flow, now: Sample.now) }
            }
            return try await group.reduce(into: [ConnectFlow]()) { if let flow = $1 { $0.append(flow) } }
        }
        #expect(started.count == 1)
        var stored = 0
        for flow in flows where try await store.flow(id: flow.id) != nil { stored += 1 }
        #expect(stored == 1)
    }

    // MARK: Flows

    @Test(arguments: StoreFixture.allCases)
    func flowsAreFoundByIDAndStateHashWithEveryField(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)

        var flow = try await Sample.startedFlow(in: store, integration: integration, user: "alice")
        #expect(flow.status == .started)
        #expect(flow.sealedCodeVerifier == "jwe.sealed.code-verifier")
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.flow(stateHash: flow.stateHash) == flow)

        let job = Sample.exchangeJob(for: flow)
        #expect(try await store.beginExchange(flowID: flow.id, job: job, now: Sample.now.addingTimeInterval(5)))
        flow.status = .exchanging
        flow.jobID = job.id
        flow.callbackAt = Sample.now.addingTimeInterval(5)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.flow(stateHash: flow.stateHash) == flow)

        let connection = Sample.connection(for: integration, user: "alice")
        let completion = try await store.completeJob(id: job.id, runnerID: job.runnerID, outcome: .connected(connection),
                                                     now: Sample.now.addingTimeInterval(9))
        #expect(completion == .applied)
        flow.status = .connected
        flow.connectionID = connection.id
        flow.completedAt = Sample.now.addingTimeInterval(9)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.flow(stateHash: flow.stateHash) == flow)

        // A flow without PKCE keeps its nil verifier; lookups do not mix ids and state hashes up.
        let plain = try await Sample.startedFlow(in: store, integration: integration, user: "bob", verifier: nil)
        #expect(try await store.flow(id: plain.id)?.sealedCodeVerifier == nil)
        #expect(try await store.flow(stateHash: plain.stateHash) == plain)
        #expect(try await store.flow(id: plain.stateHash) == nil)
        #expect(try await store.flow(stateHash: plain.id) == nil)
        #expect(try await store.flow(id: "unknown") == nil)
        #expect(try await store.flow(stateHash: "unknown") == nil)
    }

    // MARK: beginExchange

    @Test(arguments: StoreFixture.allCases)
    func beginExchangeUsesTheStateOnceAndQueuesOneJob(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let flow = try await Sample.startedFlow(in: store, integration: integration)
        let job = Sample.exchangeJob(for: flow)
        #expect(try await store.beginExchange(flowID: flow.id, job: job, now: Sample.now.addingTimeInterval(5)))
        #expect(try await store.job(id: job.id) == job)
        #expect(try await store.job(id: job.id)?.status == .queued)
        let exchanging = try #require(try await store.flow(id: flow.id))
        #expect(exchanging.status == .exchanging)
        #expect(exchanging.jobID == job.id)
        #expect(exchanging.callbackAt == Sample.now.addingTimeInterval(5))

        let second = Sample.exchangeJob(for: flow)
        #expect(try await store.beginExchange(flowID: flow.id, job: second, now: Sample.now.addingTimeInterval(6)) == false)
        #expect(try await store.job(id: second.id) == nil)
        #expect(try await store.flow(id: flow.id) == exchanging)
        let queued = try await Sample.drain(store, runnerID: flow.runnerID, at: Sample.now.addingTimeInterval(7))
        #expect(queued.map(\.id) == [job.id])

        let stray = Job(id: Sample.id(), runnerID: flow.runnerID, kind: .oauthExchange, integrationID: integration.id,
                        flowID: "no-such-flow", payload: "{}", createdAt: Sample.now)
        #expect(try await store.beginExchange(flowID: "no-such-flow", job: stray, now: Sample.now) == false)
        #expect(try await store.job(id: stray.id) == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func concurrentCallbacksBeginOneExchange(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let flow = try await Sample.startedFlow(in: store, integration: integration)
        let jobs = (0..<8).map { _ in Sample.exchangeJob(for: flow) }
        let begun = try await withThrowingTaskGroup(of: Bool.self) { group in
            for job in jobs {
                group.addTask { try await store.beginExchange(flowID: flow.id, job: job, now: Sample.now) }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(begun == 1)
        let queued = try await Sample.drain(store, runnerID: flow.runnerID, at: Sample.now)
        #expect(queued.count == 1)
        #expect(try await store.flow(id: flow.id)?.jobID == queued.first?.id)
    }

    // MARK: failStartedFlow

    @Test(arguments: StoreFixture.allCases)
    func failStartedFlowOnlyFailsStartedFlows(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let declined = FlowFailure(code: "access_denied", message: "You declined access at the SCM.")

        var flow = try await Sample.startedFlow(in: store, integration: integration)
        #expect(try await store.failStartedFlow(id: flow.id, failure: declined, now: Sample.now.addingTimeInterval(3)))
        flow.status = .failed
        flow.failure = declined
        flow.completedAt = Sample.now.addingTimeInterval(3)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.flow(stateHash: flow.stateHash) == flow)

        // Not again, and its state can no longer begin an exchange.
        let other = FlowFailure(code: "other", message: "Other.")
        #expect(try await store.failStartedFlow(id: flow.id, failure: other, now: Sample.now.addingTimeInterval(4)) == false)
        let job = Sample.exchangeJob(for: flow)
        #expect(try await store.beginExchange(flowID: flow.id, job: job, now: Sample.now.addingTimeInterval(4)) == false)
        #expect(try await store.job(id: job.id) == nil)
        #expect(try await store.flow(id: flow.id) == flow)

        // An exchanging flow is not failed this way; its job stays queued.
        let (exchanging, exchangeJob) = try await Sample.exchangingFlow(in: store, integration: integration, user: "bob")
        #expect(try await store.failStartedFlow(id: exchanging.id, failure: declined, now: Sample.now) == false)
        #expect(try await store.flow(id: exchanging.id) == exchanging)
        #expect(try await store.job(id: exchangeJob.id)?.status == .queued)

        #expect(try await store.failStartedFlow(id: "unknown", failure: declined, now: Sample.now) == false)
    }

    // MARK: abandonUnclaimedExchange

    @Test(arguments: StoreFixture.allCases)
    func abandoningAQueuedExchangeCancelsItsJobAndFailsTheFlow(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (exchanging, job) = try await Sample.exchangingFlow(in: store, integration: integration)
        var flow = exchanging
        let timeout = FlowFailure(code: "runner_offline", message: "No runner picked the connection up.")

        #expect(try await store.abandonUnclaimedExchange(flowID: flow.id, failure: timeout, now: Sample.now.addingTimeInterval(30)))
        #expect(try await store.job(id: job.id)?.status == .cancelled)
        flow.status = .failed
        flow.failure = timeout
        flow.completedAt = Sample.now.addingTimeInterval(30)
        #expect(try await store.flow(id: flow.id) == flow)
        // A runner coming back later does not get the code.
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now.addingTimeInterval(31)).isEmpty)
        #expect(try await store.abandonUnclaimedExchange(flowID: flow.id, failure: timeout, now: Sample.now.addingTimeInterval(32)) == false)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.job(id: job.id)?.status == .cancelled)
    }

    @Test(arguments: StoreFixture.allCases)
    func aLeasedExchangeIsNotAbandoned(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (flow, job) = try await Sample.exchangingFlow(in: store, integration: integration)
        let leased = try await store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Sample.now.addingTimeInterval(1))
        #expect(leased.map(\.id) == [job.id])

        let timeout = FlowFailure(code: "runner_offline", message: "No runner picked the connection up.")
        #expect(try await store.abandonUnclaimedExchange(flowID: flow.id, failure: timeout, now: Sample.now.addingTimeInterval(30)) == false)
        #expect(try await store.flow(id: flow.id) == flow)
        #expect(try await store.job(id: job.id) == leased.first)
        // The runner's result still counts.
        let connection = Sample.connection(for: integration)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(connection), now: Sample.now.addingTimeInterval(31)) == .applied)
        #expect(try await store.flow(id: flow.id)?.status == .connected)
    }

    @Test(arguments: StoreFixture.allCases)
    func onlyExchangingFlowsAreAbandoned(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let failure = FlowFailure(code: "runner_offline", message: "No runner picked the connection up.")
        let started = try await Sample.startedFlow(in: store, integration: integration)
        #expect(try await store.abandonUnclaimedExchange(flowID: started.id, failure: failure, now: Sample.now) == false)
        #expect(try await store.flow(id: started.id) == started)
        #expect(try await store.abandonUnclaimedExchange(flowID: "unknown", failure: failure, now: Sample.now) == false)
    }

    // MARK: retryExchange

    @Test(arguments: StoreFixture.allCases)
    func retryQueuesANewJobOnlyForTheNamedFailure(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (flow, first) = try await Sample.exchangingFlow(in: store, integration: integration)
        let failure = FlowFailure(code: "runner_offline", message: "No runner picked the connection up.")
        #expect(try await store.abandonUnclaimedExchange(flowID: flow.id, failure: failure, now: Sample.now.addingTimeInterval(30)))
        let failed = try #require(try await store.flow(id: flow.id))

        let wrongCode = Sample.exchangeJob(for: flow, createdAt: Sample.now.addingTimeInterval(40))
        #expect(try await store.retryExchange(flowID: flow.id, failureCode: "access_denied", job: wrongCode,
                                              now: Sample.now.addingTimeInterval(40)) == false)
        #expect(try await store.job(id: wrongCode.id) == nil)
        #expect(try await store.flow(id: flow.id) == failed)

        let retry = Sample.exchangeJob(for: flow, createdAt: Sample.now.addingTimeInterval(41))
        #expect(try await store.retryExchange(flowID: flow.id, failureCode: "runner_offline", job: retry,
                                              now: Sample.now.addingTimeInterval(41)))
        #expect(try await store.job(id: retry.id) == retry)
        let retried = try #require(try await store.flow(id: flow.id))
        #expect(retried.status == .exchanging)
        #expect(retried.jobID == retry.id)
        #expect(retried.failure == nil)
        #expect(retried.callbackAt == Sample.now.addingTimeInterval(41), "the wait for the runner starts again")
        #expect(try await store.job(id: first.id)?.status == .cancelled)

        // Not twice: the flow is exchanging again.
        let third = Sample.exchangeJob(for: flow, createdAt: Sample.now.addingTimeInterval(42))
        #expect(try await store.retryExchange(flowID: flow.id, failureCode: "runner_offline", job: third,
                                              now: Sample.now.addingTimeInterval(42)) == false)
        #expect(try await store.job(id: third.id) == nil)
        let leased = try await Sample.drain(store, runnerID: runner.id, at: Sample.now.addingTimeInterval(43))
        #expect(leased.map(\.id) == [retry.id])

        // The retried job settles the flow as the first would have.
        let connection = Sample.connection(for: integration)
        #expect(try await store.completeJob(id: retry.id, runnerID: runner.id, outcome: .connected(connection),
                                            now: Sample.now.addingTimeInterval(44)) == .applied)
        #expect(try await store.flow(id: flow.id)?.status == .connected)
        #expect(try await store.flow(id: flow.id)?.connectionID == connection.id)
    }

    @Test(arguments: StoreFixture.allCases)
    func retryRefusesFlowsThatDidNotFail(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let started = try await Sample.startedFlow(in: store, integration: integration)
        let onStarted = Sample.exchangeJob(for: started)
        #expect(try await store.retryExchange(flowID: started.id, failureCode: "runner_offline", job: onStarted, now: Sample.now) == false)
        #expect(try await store.job(id: onStarted.id) == nil)
        #expect(try await store.flow(id: started.id) == started)

        let (exchanging, _) = try await Sample.exchangingFlow(in: store, integration: integration, user: "bob")
        let onExchanging = Sample.exchangeJob(for: exchanging)
        #expect(try await store.retryExchange(flowID: exchanging.id, failureCode: "runner_offline", job: onExchanging, now: Sample.now) == false)
        #expect(try await store.job(id: onExchanging.id) == nil)
        #expect(try await store.flow(id: exchanging.id) == exchanging)

        let stray = Sample.exchangeJob(for: started)
        #expect(try await store.retryExchange(flowID: "unknown", failureCode: "runner_offline", job: stray, now: Sample.now) == false)
        #expect(try await store.job(id: stray.id) == nil)
    }
}
