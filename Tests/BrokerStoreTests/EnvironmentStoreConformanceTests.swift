import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: clone grants, refresh leases and the audit log")
struct EnvironmentStoreConformanceTests {
    static func grant(_ integration: Integration, user: String = "alice", expiresIn: TimeInterval = 3600, id: String = Sample.id()) -> CloneGrant {
        CloneGrant(id: id, runnerID: integration.runnerID, integrationID: integration.id, user: user,
                   repositoryURL: "https://dev.azure.com/contoso/web/_git/portal", cloneURL: "https://dev.azure.com/contoso/web/_git/portal",
                   access: .write, credentialMode: .user, createdAt: Sample.now, expiresAt: Sample.now.addingTimeInterval(expiresIn))
    }

    @Test(arguments: StoreFixture.allCases)
    func grantsRoundTripAndAreRevokedOnceWithTheirAudit(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let grant = Self.grant(integration)
        try await store.insertCloneGrant(grant, audit: .about(grant, action: .environmentCreated, outcome: .success, time: Sample.now))
        #expect(try await store.cloneGrant(id: grant.id) == grant)
        #expect(try await store.cloneGrant(id: "unknown") == nil)
        #expect(grant.status(at: Sample.now) == .active)
        #expect(grant.status(at: grant.expiresAt) == .expired)

        let at = Sample.now.addingTimeInterval(10)
        #expect(try await store.revokeCloneGrant(id: grant.id, now: at, audit: .about(grant, action: .environmentRevoked, outcome: .success, time: at)))
        #expect(try await !store.revokeCloneGrant(id: grant.id, now: at, audit: .about(grant, action: .environmentRevoked, outcome: .success, time: at)))
        #expect(try await !store.revokeCloneGrant(id: "unknown", now: at, audit: .about(grant, action: .environmentRevoked, outcome: .success, time: at)))
        let revoked = try #require(try await store.cloneGrant(id: grant.id))
        #expect(revoked.revokedAt == at)
        #expect(revoked.status(at: at) == .revoked)

        // One event per change that happened, none for the refused second revocation.
        let events = try await store.auditEvents(AuditQuery())
        #expect(events.map(\.action) == [.environmentCreated, .environmentRevoked])
        #expect(events.allSatisfy { $0.environmentID == grant.id && $0.user == "alice" && $0.access == .write && $0.runnerID == grant.runnerID })
    }

    @Test(arguments: StoreFixture.allCases)
    func aGrantForAMissingIntegrationIsNotFoundAndWritesNoAudit(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        var grant = Self.grant(integration)
        grant.integrationID = "gone"
        await #expect { try await store.insertCloneGrant(grant, audit: .about(grant, action: .environmentCreated, outcome: .success, time: Sample.now)) }
            throws: { ($0 as? StoreError)?.code == .notFound }
        #expect(try await store.auditEvents(AuditQuery()).isEmpty, "the grant and its audit event are one transaction")
    }

    @Test(arguments: StoreFixture.allCases)
    func deletingTheIntegrationRemovesItsGrants(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let grant = Self.grant(integration)
        try await store.insertCloneGrant(grant, audit: .about(grant, action: .environmentCreated, outcome: .success, time: Sample.now))
        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        #expect(try await store.cloneGrant(id: grant.id) == nil)
        #expect(try await store.auditEvents(AuditQuery()).count == 1, "the audit log keeps what happened")
    }

    @Test(arguments: StoreFixture.allCases)
    func oneRefreshLeasePerConnectionAndVersion(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice")
        let grant = Self.grant(integration)
        #expect(connection.version == 1)

        let first = try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "lease-1",
                                                        duration: 45, now: Sample.now)
        #expect(first == .acquired(expiresAt: Sample.now.addingTimeInterval(45)))
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "lease-2",
                                                    duration: 45, now: Sample.now.addingTimeInterval(1)) == .held(until: Sample.now.addingTimeInterval(45)))
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: "other-runner", version: 1, leaseID: "lease-x",
                                                    duration: 45, now: Sample.now) == .notFound)
        #expect(try await store.acquireRefreshLease(connectionID: "unknown", runnerID: runner.id, version: 1, leaseID: "lease-x",
                                                    duration: 45, now: Sample.now) == .notFound)

        // Only the holder completes; new credentials become version 2 and release the lease.
        let sealed = SealedSecret(jwe: "jwe.refreshed", keyID: "enc-kid", updatedAt: Sample.now.addingTimeInterval(2))
        let refreshed = RefreshOutcome.refreshed(credentials: sealed, expiresAt: Sample.now.addingTimeInterval(3600), scopes: ["vso.code_write"])
        let event = AuditEvent.about(grant, action: .tokenRefreshed, outcome: .success, time: Sample.now, connectionID: connection.id)
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "lease-2", outcome: refreshed,
                                                now: Sample.now.addingTimeInterval(2), audit: event) == nil)
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "lease-1", outcome: refreshed,
                                                now: Sample.now.addingTimeInterval(2), audit: event) == 2)
        let stored = try #require(try await store.connection(id: connection.id))
        #expect(stored.version == 2)
        #expect(stored.credentials == sealed)
        #expect(stored.expiresAt == Sample.now.addingTimeInterval(3600))
        #expect(stored.scopes == ["vso.code_write"])
        #expect(try await store.auditEvents(AuditQuery()).map(\.action) == [.tokenRefreshed])

        // A stale version is told the current one; the next version can be leased at once.
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "lease-3",
                                                    duration: 45, now: Sample.now.addingTimeInterval(3)) == .versionChanged(current: 2))
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 2, leaseID: "lease-4",
                                                    duration: 45, now: Sample.now.addingTimeInterval(3)) == .acquired(expiresAt: Sample.now.addingTimeInterval(48)))
    }

    @Test(arguments: StoreFixture.allCases)
    func anExpiredLeaseCanBeTakenOverAndItsHolderCannotComplete(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice")
        let grant = Self.grant(integration)
        _ = try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "dead",
                                                duration: 45, now: Sample.now)
        let later = Sample.now.addingTimeInterval(46)
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "alive",
                                                    duration: 45, now: later) == .acquired(expiresAt: later.addingTimeInterval(45)))
        let event = AuditEvent.about(grant, action: .tokenRefreshFailed, outcome: .failed, time: later, connectionID: connection.id)
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "dead",
                                                outcome: .transientFailure(reason: "x"), now: later, audit: event) == nil)
        // A transient failure releases the lease and changes nothing else.
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "alive",
                                                outcome: .transientFailure(reason: "scm_unreachable"), now: later, audit: event) == 1)
        #expect(try await store.connection(id: connection.id) == connection)
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "next",
                                                    duration: 45, now: later) == .acquired(expiresAt: later.addingTimeInterval(45)))
        // A permanent failure marks the connection and stops further leases.
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "next",
                                                outcome: .permanentFailure(reason: "invalid_grant"), now: later, audit: event) == 1)
        let marked = try #require(try await store.connection(id: connection.id))
        #expect(marked.status == .needsReconnect)
        #expect(marked.statusReason == "invalid_grant")
        #expect(try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "again",
                                                    duration: 45, now: later) == .needsReconnect(reason: "invalid_grant"))
    }

    @Test(arguments: StoreFixture.allCases)
    func aLateResultIsKeptWhileNobodyTookTheLeaseOver(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice")
        _ = try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "slow",
                                                duration: 45, now: Sample.now)
        // The SCM rotated the refresh token; the report arrives after the lease ran out. Losing
        // it would leave only a dead refresh token behind.
        let late = Sample.now.addingTimeInterval(60)
        let sealed = SealedSecret(jwe: "jwe.rotated", keyID: "enc-kid", updatedAt: late)
        let event = AuditEvent.about(Self.grant(integration), action: .tokenRefreshed, outcome: .success, time: late, connectionID: connection.id)
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "slow",
                                                outcome: .refreshed(credentials: sealed, expiresAt: nil, scopes: []), now: late, audit: event) == 2)
        #expect(try await store.connection(id: connection.id)?.credentials == sealed)
        #expect(try await store.completeRefresh(connectionID: connection.id, runnerID: runner.id, leaseID: "slow",
                                                outcome: .refreshed(credentials: sealed, expiresAt: nil, scopes: []), now: late, audit: event) == nil,
                "a lease ends once")
    }

    @Test(arguments: StoreFixture.allCases)
    func concurrentLeaseRequestsGrantExactlyOne(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let connection = try await Sample.connect(in: store, integration: integration, user: "alice")
        let outcomes = try await withThrowingTaskGroup(of: RefreshLeaseOutcome.self) { group in
            for index in 0..<10 {
                group.addTask {
                    try await store.acquireRefreshLease(connectionID: connection.id, runnerID: runner.id, version: 1, leaseID: "lease-\(index)",
                                                        duration: 45, now: Sample.now)
                }
            }
            return try await group.reduce(into: [RefreshLeaseOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { if case .acquired = $0 { true } else { false } }.count == 1)
        #expect(outcomes.filter { if case .held = $0 { true } else { false } }.count == 9)
    }

    @Test(arguments: StoreFixture.allCases)
    func auditEventsAreFilteredAndPagedInOrder(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        for (index, (user, runner)) in [("alice", "r1"), ("bob", "r1"), ("alice", "r2"), ("alice", "r1")].enumerated() {
            try await store.appendAudit(AuditEvent(time: Sample.now.addingTimeInterval(Double(index * 10)), action: .credentialIssued,
                                                   outcome: .success, runnerID: runner, environmentID: "env-\(index)", user: user,
                                                   repositoryURL: "https://github.com/contoso/app", access: .read, reason: nil))
        }
        let all = try await store.auditEvents(AuditQuery())
        #expect(all.map(\.environmentID) == ["env-0", "env-1", "env-2", "env-3"])
        #expect(zip(all, all.dropFirst()).allSatisfy { ($0.sequence ?? 0) < ($1.sequence ?? 0) })
        #expect(try await store.auditEvents(AuditQuery(user: "alice")).map(\.environmentID) == ["env-0", "env-2", "env-3"])
        #expect(try await store.auditEvents(AuditQuery(user: "alice", runnerID: "r1")).map(\.environmentID) == ["env-0", "env-3"])
        #expect(try await store.auditEvents(AuditQuery(since: Sample.now.addingTimeInterval(15))).map(\.environmentID) == ["env-2", "env-3"])
        let page = try await store.auditEvents(AuditQuery(limit: 2))
        #expect(page.map(\.environmentID) == ["env-0", "env-1"])
        #expect(try await store.auditEvents(AuditQuery(after: page.last?.sequence, limit: 2)).map(\.environmentID) == ["env-2", "env-3"])
        let first = try #require(all.first)
        #expect(first.access == .read && first.repositoryURL == "https://github.com/contoso/app" && first.time == Sample.now)
    }
}
