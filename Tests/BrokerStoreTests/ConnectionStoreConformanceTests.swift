import BrokerCore
import BrokerProtocol
import Foundation
import Testing

@Suite("Store conformance: connections and what goes with their integration")
struct ConnectionStoreConformanceTests {
    @Test(arguments: StoreFixture.allCases)
    func connectionsRoundTripEveryField(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let full = try await Sample.connect(in: store, integration: integration, user: "alice")
        #expect(try await store.connection(id: full.id) == full)

        let (_, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "bob")
        let sparse = Connection(
            id: Sample.id(), user: "bob", integrationID: integration.id, runnerID: runner.id, kind: .pat,
            scmUser: SCMUser(id: "42", username: "bob", displayName: nil),
            credentials: SealedSecret(jwe: "jwe.pat", keyID: "enc-kid", updatedAt: Sample.now.addingTimeInterval(3)),
            scopes: [], expiresAt: nil, status: .needsReconnect, statusReason: "The SCM refused the token.",
            createdAt: Sample.now.addingTimeInterval(1), updatedAt: Sample.now.addingTimeInterval(2))
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(sparse), now: Sample.now) == .applied)
        #expect(try await store.connection(id: sparse.id) == sparse)
        #expect(try await store.connection(id: "unknown") == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func connectionsAreListedPerUser(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let second = Sample.integration(runnerID: runner.id, name: "second-org")
        try await store.insertIntegration(second)
        let aliceFirst = try await Sample.connect(in: store, integration: integration, user: "alice")
        let aliceSecond = try await Sample.connect(in: store, integration: second, user: "alice")
        let bobs = try await Sample.connect(in: store, integration: integration, user: "bob")

        let alices = try await store.connections(user: "alice").sorted { $0.id < $1.id }
        #expect(alices == [aliceFirst, aliceSecond].sorted { $0.id < $1.id })
        #expect(try await store.connections(user: "bob") == [bobs])
        #expect(try await store.connections(user: "carol").isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func deletingAConnectionQueuesItsRevocation(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice", credentials: "jwe.alice.credentials")
        let bobs = try await Sample.connect(in: store, integration: integration, user: "bob")

        let at = Sample.now.addingTimeInterval(50)
        #expect(try await store.deleteConnection(id: connection.id, user: "alice", now: at))
        #expect(try await store.connection(id: connection.id) == nil)
        #expect(try await store.connections(user: "alice").isEmpty)
        #expect(try await store.connections(user: "bob") == [bobs])

        let queued = try await Sample.drain(store, runnerID: runner.id, at: at.addingTimeInterval(1))
        #expect(queued.count == 1)
        let revocation = try #require(queued.first)
        #expect(revocation.kind == .revokeConnection)
        #expect(revocation.runnerID == runner.id)
        #expect(revocation.integrationID == integration.id)
        #expect(revocation.flowID == nil)
        #expect(try Sample.revocation(revocation) == RevocationPayload(connectionID: connection.id, user: "alice",
                                                                         credentials: "jwe.alice.credentials"))

        // Once only.
        #expect(try await store.deleteConnection(id: connection.id, user: "alice", now: at.addingTimeInterval(2)) == false)
        #expect(try await Sample.drain(store, runnerID: runner.id, at: at.addingTimeInterval(3)).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func anotherUsersConnectionIsNotDeleted(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice")

        #expect(try await store.deleteConnection(id: connection.id, user: "mallory", now: Sample.now) == false)
        #expect(try await store.connection(id: connection.id) == connection)
        #expect(try await store.connections(user: "alice") == [connection])
        #expect(try await store.deleteConnection(id: "unknown", user: "alice", now: Sample.now) == false)
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now).isEmpty)
    }

    // MARK: Cascades

    @Test(arguments: StoreFixture.allCases)
    func deletingARunnerDeletesItsJobsFlowsTicketsAndConnections(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (other, otherIntegration) = try await Sample.connectable(in: store, runnerName: "other")

        let ticket = Sample.ticket(for: integration)
        try await store.insertConnectTicket(ticket, now: Sample.now)
        let (flow, exchange) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        let connection = try await Sample.connect(in: store, integration: integration, user: "bob")
        let removed = try await Sample.connect(in: store, integration: integration, user: "carol")
        #expect(try await store.deleteConnection(id: removed.id, user: "carol", now: Sample.now))
        let revoke = Sample.job(runnerID: runner.id, integrationID: integration.id)
        try await store.enqueueJob(revoke)

        let (otherFlow, otherJob) = try await Sample.exchangingFlow(in: store, integration: otherIntegration, user: "alice")
        let otherConnection = try await Sample.connect(in: store, integration: otherIntegration, user: "bob")

        #expect(try await store.deleteRunner(id: runner.id))
        #expect(try await store.job(id: exchange.id) == nil)
        #expect(try await store.job(id: revoke.id) == nil)
        #expect(try await Sample.drain(store, runnerID: runner.id, at: Sample.now.addingTimeInterval(3600)).isEmpty)
        #expect(try await store.flow(id: flow.id) == nil)
        #expect(try await store.flow(stateHash: flow.stateHash) == nil)
        #expect(try await store.connection(id: connection.id) == nil)
        #expect(try await store.connections(user: "bob") == [otherConnection])
        let fromDeletedTicket = try await store.startFlow(ticketHash: ticket.tokenHash, flow: Sample.flow(for: integration), now: Sample.now)
        #expect(fromDeletedTicket == nil)

        // The other runner keeps everything.
        #expect(try await store.flow(id: otherFlow.id) == otherFlow)
        #expect(try await store.job(id: otherJob.id) == otherJob)
        #expect(try await store.connection(id: otherConnection.id) == otherConnection)
        #expect(try await Sample.drain(store, runnerID: other.id, at: Sample.now).map(\.id) == [otherJob.id])
    }

    @Test(arguments: StoreFixture.allCases)
    func deletingAnIntegrationDeletesItsConnectionsFlowsAndTickets(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let kept = Sample.integration(runnerID: runner.id, name: "kept-org")
        try await store.insertIntegration(kept)

        let ticket = Sample.ticket(for: integration)
        try await store.insertConnectTicket(ticket, now: Sample.now)
        let started = try await Sample.startedFlow(in: store, integration: integration, user: "alice")
        let connection = try await Sample.connect(in: store, integration: integration, user: "bob", credentials: "jwe.sealed.token")

        let keptTicket = Sample.ticket(for: kept, user: "dave")
        try await store.insertConnectTicket(keptTicket, now: Sample.now)
        let keptFlow = try await Sample.startedFlow(in: store, integration: kept, user: "alice")
        let keptConnection = try await Sample.connect(in: store, integration: kept, user: "bob")

        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        #expect(try await store.connection(id: connection.id) == nil)
        #expect(try await store.connections(user: "bob") == [keptConnection])
        #expect(try await store.flow(id: started.id) == nil)
        #expect(try await store.flow(stateHash: started.stateHash) == nil)
        let fromDeletedTicket = try await store.startFlow(ticketHash: ticket.tokenHash, flow: Sample.flow(for: integration), now: Sample.now)
        #expect(fromDeletedTicket == nil)

        #expect(try await store.flow(id: keptFlow.id) == keptFlow)
        #expect(try await store.connection(id: keptConnection.id) == keptConnection)
        let fromKeptTicket = try await store.startFlow(ticketHash: keptTicket.tokenHash, flow: Sample.flow(for: kept), now: Sample.now)
        #expect(fromKeptTicket?.user == "dave")
    }

    // MARK: Deleting an integration revokes, withdraws and forgets

    @Test(arguments: StoreFixture.allCases)
    func deletingAnIntegrationQueuesTheRevocationOfItsConnectionsWithWhatTheRunnerNeeds(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "bob", credentials: "jwe.bob.credentials")
        let (_, pending) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")

        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        let queued = try await Sample.drain(store, runnerID: runner.id, at: Sample.now.addingTimeInterval(60))
        #expect(queued.map(\.kind) == [.revokeConnection], "the pending exchange was withdrawn; only the revocation is left")
        let payload = try Sample.revocation(try #require(queued.first))
        #expect(payload.connectionID == connection.id)
        #expect(payload.credentials == "jwe.bob.credentials")
        let revocation = try #require(queued.first)
        let snapshot = try #require(revocation.deletedIntegration?.integration(at: Sample.now))
        #expect(snapshot.id == integration.id)
        #expect(snapshot.provider == integration.provider)
        #expect(snapshot.oauth?.clientID == integration.oauth?.clientID)
        #expect(snapshot.oauth?.clientSecret.jwe == integration.oauth?.clientSecret.jwe)
        #expect(snapshot.oauth?.authority == integration.oauth?.authority)
        let withdrawn = try await store.job(id: pending.id)
        #expect(withdrawn?.status == .cancelled)
        #expect(withdrawn?.payload == "{}", "the withdrawn exchange keeps no sealed code")
    }

    @Test(arguments: StoreFixture.allCases)
    func aResultForADeletedIntegrationStoresNoConnection(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (_, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        let leased = try await Sample.drain(store, runnerID: runner.id, at: Sample.now)
        #expect(leased.map(\.id) == [job.id])
        // The runner holds the job while the admin deletes the integration.
        try await store.enqueueJob(Sample.job(runnerID: runner.id, integrationID: integration.id))
        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        let connection = Sample.connection(for: integration, user: "alice")
        let completion = try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .connected(connection), now: Sample.now)
        #expect(completion == .duplicate || completion == .applied)
        #expect(try await store.connection(id: connection.id) == nil)
        #expect(try await store.connections(user: "alice").isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func finishedJobsKeepNoSealedMaterialAndAreForgottenAfterADay(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let (_, job) = try await Sample.exchangingFlow(in: store, integration: integration, user: "alice")
        _ = try await Sample.drain(store, runnerID: runner.id, at: Sample.now)
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .failed(.init(code: "invalid_grant", message: "")),
                                            now: Sample.now) == .applied)
        #expect(try await store.job(id: job.id)?.payload == "{}")

        // A withdrawn exchange keeps its sealed code for a retry, for 10 minutes only.
        let (offlineFlow, offline) = try await Sample.exchangingFlow(in: store, integration: integration, user: "bob")
        #expect(try await store.abandonUnclaimedExchange(flowID: offlineFlow.id, failure: .init(code: "runner_offline", message: ""), now: Sample.now))
        #expect(try await store.job(id: offline.id)?.payload != "{}")
        // Pruning happens when another of the runner's jobs completes.
        func completeAnother(at time: Date) async throws {
            let other = Sample.job(runnerID: runner.id, integrationID: integration.id, createdAt: time)
            try await store.enqueueJob(other)
            #expect(try await store.completeJob(id: other.id, runnerID: runner.id, outcome: .succeeded, now: time) == .applied)
        }
        try await completeAnother(at: Sample.now.addingTimeInterval(ConnectFlow.lifetime + 1))
        #expect(try await store.job(id: offline.id)?.payload == "{}")

        try await completeAnother(at: Sample.now.addingTimeInterval(86_401))
        #expect(try await store.job(id: job.id) == nil)
        #expect(try await store.job(id: offline.id) == nil)
    }
}
