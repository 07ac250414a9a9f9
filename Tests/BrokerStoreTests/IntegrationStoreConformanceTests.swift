import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: integrations")
struct IntegrationStoreConformanceTests {
    @Test(arguments: StoreFixture.allCases)
    func roundTripsEveryField(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        var patOnly = Sample.integration(runnerID: runner.id, name: "server")
        patOnly.oauth = nil
        patOnly.labels = []
        // Every optional field set, so that a store that drops one of them fails here.
        var full = Sample.integration(runnerID: runner.id)
        full.apiURL = "https://api.contoso.example/ado"
        full.gitURL = "https://git-mirror.contoso.example"
        full.credentialMode = .organization
        var app = Sample.integration(runnerID: runner.id, name: "app")
        app.provider = .github
        app.url = "https://github.com/contoso"
        app.oauth = nil
        app.githubApp = GitHubApp(appID: "12345", installationID: "67890",
                                  privateKey: SealedSecret(jwe: "jwe.app.key.iv.tag", keyID: "enc-kid", updatedAt: Sample.now.addingTimeInterval(1)))
        app.credentialMode = .githubApp
        for integration in [full, patOnly, app] { try await store.insertIntegration(integration) }
        #expect(try await store.integration(id: full.id) == full)
        #expect(try await store.integration(id: patOnly.id) == patOnly)
        #expect(try await store.integration(id: app.id) == app)
        #expect(try await store.integrations(runnerID: runner.id).map(\.name) == ["app", "contoso-ado", "server"])

        // An update carries every field too.
        var changed = full
        changed.apiURL = nil
        changed.gitURL = "https://other-mirror.contoso.example"
        changed.credentialMode = .user
        changed.updatedAt = Sample.now.addingTimeInterval(5)
        try await store.updateIntegration(changed, expectedUpdatedAt: full.updatedAt)
        #expect(try await store.integration(id: full.id) == changed)
    }

    @Test(arguments: StoreFixture.allCases)
    func nameIsUniquePerRunner(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
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
        let store = try await fixture.make()
        let orphan = Sample.integration(runnerID: "no-such-runner")
        await #expect(throws: StoreError.self) { try await store.insertIntegration(orphan) }
        #expect(try await store.integration(id: orphan.id) == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func updateReplacesAndDeleteRemoves(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
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
        let store = try await fixture.make()
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
