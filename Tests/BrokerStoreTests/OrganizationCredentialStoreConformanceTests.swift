import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: organization credentials and PAT flows")
struct OrganizationCredentialStoreConformanceTests {
    static func credential(_ integration: Integration, _ name: String, at offset: TimeInterval) -> OrganizationCredential {
        OrganizationCredential(id: Sample.id(), integrationID: integration.id, username: name,
                               credentials: SealedSecret(jwe: "jwe.\(name)", keyID: "enc-kid", updatedAt: Sample.now),
                               scmUser: SCMUser(id: "id-\(name)", username: name, displayName: nil),
                               createdAt: Sample.now.addingTimeInterval(offset))
    }

    @Test(arguments: StoreFixture.allCases)
    func credentialsAreUsedInTurnSkippingRateLimitedOnes(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let credentials = ["svc-a", "svc-b", "svc-c"].enumerated().map { Self.credential(integration, $1, at: Double($0)) }
        try await store.setCredentialMode(integrationID: integration.id, mode: .organization, credentials: credentials,
                                          expectedUpdatedAt: integration.updatedAt, updatedAt: Sample.now.addingTimeInterval(1))
        #expect(try await store.integration(id: integration.id)?.credentialMode == .organization)
        #expect(try await store.organizationCredentials(integrationID: integration.id).map(\.username) == ["svc-a", "svc-b", "svc-c"])

        var picked: [String?] = []
        for step in 0..<6 {
            picked.append(try await store.pickOrganizationCredential(integrationID: integration.id, now: Sample.now.addingTimeInterval(10 + Double(step)))?.username)
        }
        #expect(picked == ["svc-a", "svc-b", "svc-c", "svc-a", "svc-b", "svc-c"])

        // svc-a hits the SCM's rate limit: it is skipped until the limit ends.
        try await store.markOrganizationCredentialRateLimited(id: credentials[0].id, until: Sample.now.addingTimeInterval(100))
        var limited: [String?] = []
        for step in 0..<4 {
            limited.append(try await store.pickOrganizationCredential(integrationID: integration.id, now: Sample.now.addingTimeInterval(20 + Double(step)))?.username)
        }
        #expect(limited == ["svc-b", "svc-c", "svc-b", "svc-c"])
        for credential in credentials {
            try await store.markOrganizationCredentialRateLimited(id: credential.id, until: Sample.now.addingTimeInterval(100))
        }
        #expect(try await store.pickOrganizationCredential(integrationID: integration.id, now: Sample.now.addingTimeInterval(50)) == nil)
        #expect(try await store.pickOrganizationCredential(integrationID: integration.id, now: Sample.now.addingTimeInterval(101)) != nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func settingTheModeReplacesTheCredentialsAndChecksTheVersion(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        let first = Self.credential(integration, "svc-a", at: 0)
        try await store.setCredentialMode(integrationID: integration.id, mode: .organization, credentials: [first],
                                          expectedUpdatedAt: integration.updatedAt, updatedAt: Sample.now.addingTimeInterval(1))
        await #expect(throws: StoreError.self) {
            try await store.setCredentialMode(integrationID: integration.id, mode: .user, credentials: [],
                                              expectedUpdatedAt: integration.updatedAt, updatedAt: Sample.now.addingTimeInterval(2))
        }
        #expect(try await store.organizationCredentials(integrationID: integration.id) == [first], "a stale version changes nothing")
        try await store.setCredentialMode(integrationID: integration.id, mode: .user, credentials: [],
                                          expectedUpdatedAt: Sample.now.addingTimeInterval(1), updatedAt: Sample.now.addingTimeInterval(2))
        #expect(try await store.organizationCredentials(integrationID: integration.id).isEmpty)
        #expect(try await store.integration(id: integration.id)?.credentialMode == .user)
        await #expect(throws: StoreError.self) {
            try await store.setCredentialMode(integrationID: "missing", mode: .user, credentials: [], expectedUpdatedAt: Sample.now, updatedAt: Sample.now)
        }
    }

    @Test(arguments: StoreFixture.allCases)
    func deletingTheIntegrationDeletesItsOrganizationCredentials(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (_, integration) = try await Sample.connectable(in: store)
        try await store.setCredentialMode(integrationID: integration.id, mode: .organization, credentials: [Self.credential(integration, "svc", at: 0)],
                                          expectedUpdatedAt: integration.updatedAt, updatedAt: Sample.now.addingTimeInterval(1))
        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        #expect(try await store.organizationCredentials(integrationID: integration.id).isEmpty)
    }

    @Test(arguments: StoreFixture.allCases)
    func aPATFlowTakesItsFormOnceWithTheCurrentCSRFHash(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let (runner, integration) = try await Sample.connectable(in: store)
        let ticket = Sample.ticket(for: integration, user: "alice")
        try await store.insertConnectTicket(ticket, now: Sample.now)
        var flow = Sample.flow(for: integration, verifier: nil)
        flow.kind = .pat
        let started = try #require(try await store.startFlow(ticketHash: ticket.tokenHash, flow: flow, now: Sample.now))
        #expect(started.kind == .pat)
        #expect(try await store.setFlowState(id: started.id, stateHash: "csrf-2"))

        let job = Job(id: Sample.id(), runnerID: runner.id, kind: .patValidation, integrationID: integration.id, flowID: started.id,
                      payload: #"{"token":"jwe.pat","user":"alice"}"#, createdAt: Sample.now)
        #expect(try await store.beginPATValidation(flowID: started.id, stateHash: started.stateHash, newStateHash: "x", job: job, now: Sample.now) == false,
                "the first form's CSRF token is no longer valid")
        #expect(try await store.beginPATValidation(flowID: started.id, stateHash: "csrf-2", newStateHash: "csrf-3", job: job, now: Sample.now))
        #expect(try await store.flow(id: started.id)?.status == .exchanging)
        #expect(try await store.job(id: job.id)?.kind == .patValidation)
        let again = Job(id: Sample.id(), runnerID: runner.id, kind: .patValidation, integrationID: integration.id, flowID: started.id,
                        payload: "{}", createdAt: Sample.now)
        #expect(try await store.beginPATValidation(flowID: started.id, stateHash: "csrf-3", newStateHash: "y", job: again, now: Sample.now) == false)
        #expect(try await store.setFlowState(id: started.id, stateHash: "z") == false, "no form while the token is checked")

        // Refused: the form comes back for another try.
        #expect(try await store.completeJob(id: job.id, runnerID: runner.id, outcome: .failed(.init(code: "invalid_credentials", message: "")),
                                            now: Sample.now) == .applied)
        #expect(try await store.setFlowState(id: started.id, stateHash: "csrf-4"))
        #expect(try await store.beginPATValidation(flowID: started.id, stateHash: "csrf-4", newStateHash: "w", job: again, now: Sample.now))
    }
}
