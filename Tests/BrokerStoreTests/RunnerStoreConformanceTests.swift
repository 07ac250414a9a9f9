import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: runners and registration")
struct RunnerStoreConformanceTests {
    @Test(arguments: StoreFixture.allCases)
    func insertsAndReadsPendingRunners(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let first = Sample.runner("eu-1")
        let second = Sample.runner("us-1")
        try await store.insertRunner(first, registration: Sample.registration(for: first))
        try await store.insertRunner(second, registration: Sample.registration(for: second))
        #expect(try await store.runner(id: first.id) == first)
        #expect(try await store.runners().map(\.name).sorted() == ["eu-1", "us-1"])
        #expect(try await store.runner(id: "missing") == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func duplicateNameIsAConflictAndWritesNothing(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let first = Sample.runner("eu-1")
        try await store.insertRunner(first, registration: Sample.registration(for: first))
        let clash = Sample.runner("eu-1")
        let clashToken = Sample.registration(for: clash)
        await #expect(throws: StoreError(.conflict, "already exists")) {
            try await store.insertRunner(clash, registration: clashToken)
        }
        #expect(try await store.runner(id: clash.id) == nil)
        // The registration token of the refused runner was not stored either.
        let registered = try await store.completeRegistration(
            tokenHash: clashToken.tokenHash, encryptionKey: Sample.encryptionKey, signingKey: Sample.signingKey, at: Sample.now)
        #expect(registered == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func registrationTokenIsOneTime(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = Sample.runner()
        let registration = Sample.registration(for: runner)
        try await store.insertRunner(runner, registration: registration)
        let registered = try #require(try await store.completeRegistration(
            tokenHash: registration.tokenHash, encryptionKey: Sample.encryptionKey, signingKey: Sample.signingKey,
            at: Sample.now.addingTimeInterval(10)))
        #expect(registered.status == .registered)
        #expect(registered.encryptionKey == Sample.encryptionKey)
        #expect(registered.signingKey == Sample.signingKey)
        #expect(registered.registeredAt == Sample.now.addingTimeInterval(10))
        let again = try await store.completeRegistration(
            tokenHash: registration.tokenHash, encryptionKey: Sample.encryptionKey, signingKey: Sample.signingKey, at: Sample.now)
        #expect(again == nil)
    }

    @Test(arguments: StoreFixture.allCases)
    func expiredRegistrationTokenIsRefusedAndChangesNothing(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = Sample.runner()
        let registration = Sample.registration(for: runner, expiresIn: 3600)
        try await store.insertRunner(runner, registration: registration)
        let late = try await store.completeRegistration(
            tokenHash: registration.tokenHash, encryptionKey: Sample.encryptionKey, signingKey: Sample.signingKey,
            at: Sample.now.addingTimeInterval(3601))
        #expect(late == nil)
        #expect(try await store.runner(id: runner.id)?.status == .pending)
    }

    @Test(arguments: StoreFixture.allCases)
    func deletingARunnerDeletesEverythingItOwns(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        let other = try await Sample.registeredRunner(in: store, name: "other")
        let integration = Sample.integration(runnerID: runner.id)
        let kept = Sample.integration(runnerID: other.id)
        try await store.insertIntegration(integration)
        try await store.insertIntegration(kept)
        try await store.insertRunnerAccessToken(.init(runnerID: runner.id, tokenHash: "access", expiresAt: Sample.now.addingTimeInterval(900)), now: Sample.now)

        #expect(try await store.deleteRunner(id: runner.id))
        #expect(try await store.runner(id: runner.id) == nil)
        #expect(try await store.integration(id: integration.id) == nil)
        #expect(try await store.integrations(runnerID: runner.id).isEmpty)
        #expect(try await store.runnerAccessToken(hash: "access") == nil)
        #expect(try await store.integration(id: kept.id) == kept)
        #expect(try await store.deleteRunner(id: runner.id) == false)
    }

    @Test(arguments: StoreFixture.allCases)
    func touchRecordsLastSeen(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        try await store.touchRunner(id: runner.id, at: Sample.now.addingTimeInterval(42))
        #expect(try await store.runner(id: runner.id)?.lastSeenAt == Sample.now.addingTimeInterval(42))
    }
}
