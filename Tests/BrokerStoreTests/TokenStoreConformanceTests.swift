import BrokerCore
import Foundation
import Testing

@Suite("Store conformance: tokens and assertions")
struct TokenStoreConformanceTests {
    @Test(arguments: StoreFixture.allCases)
    func adminTokensAreFoundByHash(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        #expect(try await store.adminTokenCount() == 0)
        let token = AdminToken(id: "a1", name: "initial", tokenHash: "hash-1", createdAt: Sample.now)
        try await store.insertAdminToken(token)
        #expect(try await store.adminToken(hash: "hash-1") == token)
        #expect(try await store.adminToken(hash: "hash-2") == nil)
        #expect(try await store.adminTokenCount() == 1)
    }

    @Test(arguments: StoreFixture.allCases)
    func assertionJTIsAreOneTimePerRunner(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        let other = try await Sample.registeredRunner(in: store, name: "other")
        let expiry = Sample.now.addingTimeInterval(300)
        #expect(try await store.recordAssertion(runnerID: runner.id, jti: "j1", expiresAt: expiry, now: Sample.now))
        #expect(try await store.recordAssertion(runnerID: runner.id, jti: "j1", expiresAt: expiry, now: Sample.now) == false)
        #expect(try await store.recordAssertion(runnerID: other.id, jti: "j1", expiresAt: expiry, now: Sample.now))
        #expect(try await store.recordAssertion(runnerID: runner.id, jti: "j2", expiresAt: expiry, now: Sample.now))
    }

    @Test(arguments: StoreFixture.allCases)
    func runnerAccessTokensAreFoundByHashAndExpiredOnesPruned(_ fixture: StoreFixture) async throws {
        let store = try await fixture.make()
        let runner = try await Sample.registeredRunner(in: store)
        let old = RunnerAccessToken(runnerID: runner.id, tokenHash: "old", expiresAt: Sample.now.addingTimeInterval(900))
        try await store.insertRunnerAccessToken(old, now: Sample.now)
        #expect(try await store.runnerAccessToken(hash: "old") == old)
        let later = Sample.now.addingTimeInterval(1000)
        let fresh = RunnerAccessToken(runnerID: runner.id, tokenHash: "new", expiresAt: later.addingTimeInterval(900))
        try await store.insertRunnerAccessToken(fresh, now: later)
        #expect(try await store.runnerAccessToken(hash: "old") == nil)
        #expect(try await store.runnerAccessToken(hash: "new") == fresh)
    }
}
