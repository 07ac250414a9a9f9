import BrokerCrypto
import BrokerServer
import Foundation
import Hummingbird
import Testing

@Suite("Health, admin bootstrap and authentication")
struct HealthAndAuthTests {
    @Test func healthz() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let response = try await api.request(.get, "/healthz", bearer: nil)
            #expect(response.status == .ok)
            #expect(response.json as NSDictionary == ["status": "ok"] as NSDictionary)
        }
    }

    @Test func readyzAsksTheStore() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let response = try await api.request(.get, "/readyz", bearer: nil)
            #expect(response.status == .ok)
            #expect(response.json as NSDictionary == ["status": "ready"] as NSDictionary)
        }
    }

    @Test func firstStartWritesAnAdminTokenFile0600AndLogsOnlyItsPath() async throws {
        let broker = try TestBroker()
        _ = try await broker.application()
        let path = broker.configuration.keysDirectory + "/admin.token"
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        let token = try broker.adminToken
        #expect(token.hasPrefix("sbat_"))
        #expect(broker.log.text.contains(path))
        #expect(!broker.log.text.contains(token))
        // Only the hash is stored.
        #expect(try await broker.store.adminToken(hash: SHA256.hex(token)) != nil)
        #expect(!String(decoding: try await broker.databaseBytes(), as: UTF8.self).contains(token))
        // A second start keeps the existing token.
        _ = try await broker.application()
        #expect(try broker.adminToken == token)
        #expect(try await broker.store.adminTokenCount() == 1)
    }

    @Test(arguments: [nil, "Bearer nope", "Bearer sbat_wrong", "Basic Zm9vOmJhcg==", "Bearer "])
    func adminAPIRequiresAValidAdminToken(_ authorization: String?) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            let response = try await api.client.execute(uri: "/api/v1/runners", method: .get, headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
            #expect(String(buffer: response.body).contains(#""code":"unauthorized""#))
        }
    }

    @Test func runnerTokensDoNotOpenTheAdminAPIAndAdminTokensDoNotOpenTheRunnerAPI() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let runnerToken = try await api.runnerAccessToken(runner)
            #expect(try await api.request(.get, "/api/v1/runners", bearer: runnerToken).status == .unauthorized)
            #expect(try await api.request(.get, "/runner/v1/integrations", bearer: api.adminToken).status == .unauthorized)
            #expect(try await api.request(.get, "/runner/v1/integrations", bearer: runnerToken).status == .ok)
        }
    }

    @Test func aTokenFileThatCannotBeWrittenLeavesNoOrphanTokenInTheStore() async throws {
        let broker = try TestBroker()
        // A regular file where the keys directory should be: nothing can be written under it.
        let blocked = broker.directory + "/not-a-directory"
        FileManager.default.createFile(atPath: blocked, contents: Data())
        await #expect(throws: (any Error).self) {
            try await AdminTokens.bootstrap(store: broker.store, keysDirectory: blocked, logger: broker.log.logger())
        }
        // Nothing stored, so the next start (with a usable keys directory) creates one again.
        #expect(try await broker.store.adminTokenCount() == 0)
        _ = try await broker.application()
        #expect(try await broker.store.adminTokenCount() == 1)
        #expect(try broker.adminToken.hasPrefix("sbat_"))
    }

    @Test func adminTokenCreateMakesAWorkingTokenStoredOnlyAsAHash() async throws {
        let broker = try TestBroker()
        _ = try await broker.application()
        let token = try await AdminTokens.create(name: "cli", store: broker.store)
        let initial = try broker.adminToken
        #expect(token.hasPrefix("sbat_") && token != initial)
        #expect(try await broker.store.adminTokenCount() == 2)
        try await broker.withClient { api in
            let response = try await api.request(.get, "/api/v1/runners", bearer: token)
            #expect(response.status == .ok)
        }
        #expect(!String(decoding: try await broker.databaseBytes(), as: UTF8.self).contains(token))
    }

    @Test(arguments: [
        String(repeating: "[", count: 60_000),
        String(repeating: #"{"a":"#, count: 10_000),
        String(repeating: "[", count: 400) + String(repeating: "]", count: 400),
    ])
    func hostileJSONIsA400NotACrash(_ body: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let response = try await api.admin(.post, "/api/v1/runners", body)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_request")
        }
    }

    @Test func unknownRoutesAndMethodsAnswerJSONErrors() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let missing = try await api.admin(.get, "/api/v1/nothing")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
        }
    }
}
