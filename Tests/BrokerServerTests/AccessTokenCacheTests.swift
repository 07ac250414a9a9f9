import BrokerServer
import Foundation
@testable import RunnerAgent
import Testing

/// The runner agent's broker token: renewed before it expires, one renewal for many callers.
@Suite("Runner access token renewal")
struct AccessTokenCacheTests {
    @Test func concurrentCallersShareOneRenewalAndATokenNearExpiryIsRenewed() async throws {
        let broker = try TestBroker()
        let port = try LiveBroker.freePort()
        let publicURL = "http://127.0.0.1:\(port)"
        let configuration = try BrokerConfiguration(host: "127.0.0.1", port: port, publicURL: publicURL,
                                                    dataDirectory: broker.configuration.dataDirectory,
                                                    keysDirectory: broker.configuration.keysDirectory)
        let app = try await buildApplication(configuration, store: broker.store, logger: broker.log.logger())
        try await LiveBroker.run(app, publicURL: publicURL) {
            let created = try await EndToEndTests.post(publicURL + "/api/v1/runners", admin: try broker.adminToken, body: #"{"name":"eu-1"}"#)
            let runner = try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as! [String: Any]
            let keys = try Fixtures.runnerKeys()
            let client = BrokerClient(brokerURL: publicURL)
            let runnerID = try await client.register(registrationToken: runner["registration_token"] as! String, keys: keys)
            func tokenRequests() -> Int { broker.log.text.components(separatedBy: "runner authenticated").count - 1 }

            // Ten callers at once, nothing cached: one assertion, one token, shared.
            let cache = AccessTokenCache(client: client, runnerID: runnerID, keys: keys)
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 { group.addTask { try await cache.current().value } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            #expect(tokenRequests() == 1)
            _ = try await cache.current()
            #expect(tokenRequests() == 1, "a fresh token is reused")

            // A token inside the renewal margin (here: any, as tokens live 15 minutes) is renewed.
            let eager = AccessTokenCache(client: client, runnerID: runnerID, keys: keys, margin: 16 * 60)
            let first = try await eager.current()
            let second = try await eager.current()
            #expect(first.value != second.value)
            #expect(tokenRequests() == 3)

            // A refused token is dropped and replaced.
            await cache.invalidate()
            #expect(try await cache.current().value != tokens.first)
            #expect(tokenRequests() == 4)
        }
    }
}
