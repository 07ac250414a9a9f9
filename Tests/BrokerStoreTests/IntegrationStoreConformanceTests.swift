import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: integrations")
struct IntegrationStoreConformanceTests {
    @Test(arguments: StoreFixture.allCases)
    func roundTripsEveryField(_ fixture: StoreFixture) async throws {
        let store = try fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        var patOnly = Sample.integration(runnerID: runner.id, name: "server")
        patOnly.oauth = nil
        patOnly.labels = []
        let full = Sample.integration(runnerID: runner.id)
        try await store.insertIntegration(full)
        try await store.insertIntegration(patOnly)
        #expect(try await store.integration(id: full.id) == full)
        #expect(try await store.integration(id: patOnly.id) == patOnly)
        #expect(try await store.integrations(runnerID: runner.id).map(\.name) == ["contoso-ado", "server"])
    }

    @Test(arguments: StoreFixture.allCases)
    func nameIsUniquePerRunner(_ fixture: StoreFixture) async throws {
        let store = try fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        let other = try await Sample.registeredRunner(in: store, name: "other")
        try await store.insertIntegration(Sample.integration(runnerID: runner.id))
        let clash = Sample.integration(runnerID: runner.id)
        await #expect(throws: StoreError(.conflict, "already exists")) { try await store.insertIntegration(clash) }
        #expect(try await store.integration(id: clash.id) == nil)
        try await store.insertIntegration(Sample.integration(runnerID: other.id))
    }

    @Test(arguments: StoreFixture.allCases)
    func insertForAMissingRunnerIsNotFound(_ fixture: StoreFixture) async throws {
        let store = try fixture.make()
        let orphan = Sample.integration(runnerID: "no-such-runner")
        await #expect(throws: StoreError.self) { try await store.insertIntegration(orphan) }
        #expect(try await store.integration(id: orphan.id) == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func updateReplacesAndDeleteRemoves(_ fixture: StoreFixture) async throws {
        let store = try fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        var integration = Sample.integration(runnerID: runner.id)
        try await store.insertIntegration(integration)
        integration.oauth?.clientSecret = SealedSecret(jwe: "rotated", keyID: "enc-kid", updatedAt: Sample.now.addingTimeInterval(5))
        integration.pat.enabled = false
        integration.labels = ["x"]
        integration.description = "new"
        integration.updatedAt = Sample.now.addingTimeInterval(5)
        try await store.updateIntegration(integration, expectedUpdatedAt: Sample.now)
        #expect(try await store.integration(id: integration.id) == integration)

        integration.oauth = nil
        integration.pat.enabled = true
        integration.updatedAt = Sample.now.addingTimeInterval(6)
        try await store.updateIntegration(integration, expectedUpdatedAt: Sample.now.addingTimeInterval(5))
        #expect(try await store.integration(id: integration.id)?.oauth == nil)

        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now))
        #expect(try await store.integration(id: integration.id) == nil)
        #expect(try await store.deleteIntegration(id: integration.id, now: Sample.now) == false)
        await #expect(throws: StoreError(.notFound, "no such integration")) {
            try await store.updateIntegration(integration, expectedUpdatedAt: Sample.now.addingTimeInterval(6))
        }
    }

    @Test(arguments: StoreFixture.allCases)
    func updateFromAStaleVersionIsAConflictAndChangesNothing(_ fixture: StoreFixture) async throws {
        let store = try fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        let original = Sample.integration(runnerID: runner.id)
        try await store.insertIntegration(original)
        var first = original
        first.oauth?.clientSecret.jwe = "rotated-by-first"
        first.updatedAt = Sample.now.addingTimeInterval(1)
        try await store.updateIntegration(first, expectedUpdatedAt: original.updatedAt)
        var second = original
        second.labels = ["from-a-stale-read"]
        second.updatedAt = Sample.now.addingTimeInterval(2)
        await #expect(throws: StoreError(.conflict, "the integration was changed concurrently")) {
            try await store.updateIntegration(second, expectedUpdatedAt: original.updatedAt)
        }
        #expect(try await store.integration(id: original.id) == first)
    }
}
