import BrokerCrypto
import SCMProviders
import Foundation
import Testing

/// Plants recognisable secrets, drives every API that touches them (including failures), and
/// asserts they appear nowhere: not in the SQLite file (WAL checkpointed), not in the
/// captured logs, not in any response body.
@Suite("Planted secrets never leak")
struct SecretLeakTests {
    @Test func plantedClientSecretsAppearNowhere() async throws {
        let broker = try TestBroker()
        let first = "PLANTED-client-secret-\(UUID().uuidString)"
        let second = "PLANTED-rotated-secret-\(UUID().uuidString)"
        let third = "PLANTED-refused-secret-\(UUID().uuidString)"
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let created = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(secret: first))
            let id = try #require(created.string("id"))
            _ = try await api.admin(.get, "/api/v1/integrations/\(id)")
            _ = try await api.admin(.get, "/api/v1/runners/\(runner.id)/integrations")
            _ = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"oauth":{"client_secret":"\#(second)"}}"#)
            // Refused requests that carry a secret must not echo it either.
            _ = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(secret: first))  // name clash
            _ = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(name: "x", secret: third + "\\n"))
            _ = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(name: "bad name", secret: third))
            _ = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"name":"other","oauth":{"client_secret":"\#(third)"}}"#)
            let (pending, _) = try await api.createRunner("pending")
            _ = try await api.createIntegration(runnerID: pending, Fixtures.entraIntegration(secret: third))
            let runnerView = try await api.request(.get, "/runner/v1/integrations", bearer: try await api.runnerAccessToken(runner))
            // The runner gets the JWE, which opens to the current secret.
            let jwe = try #require(((runnerView["integrations"] as? [[String: Any]])?.first?["oauth"] as? [String: Any])?["client_secret"] as? String)
            #expect(try BoundClientSecret(json: JWE.openString(jwe, with: runner.keys.encryption)).clientSecret == second)
        }

        let database = String(decoding: try await broker.databaseBytes(), as: UTF8.self)
        let logs = broker.log.text
        let bodies = broker.responseBodies
        #expect(!logs.isEmpty && !bodies.isEmpty && !database.isEmpty)
        for secret in [first, second, third, "PLANTED-"] {
            let inDatabase = database.contains(secret)
            let inLogs = logs.contains(secret)
            let inResponses = bodies.contains(secret)
            #expect(!inDatabase, "database contains \(secret)")
            #expect(!inLogs, "logs contain \(secret)")
            #expect(!inResponses, "a response contains \(secret)")
        }
        // Issued tokens are stored only as hashes.
        let tokenInDatabase = ["sbat_", "sbrt_", "sbra_"].contains { database.contains($0) }
        #expect(!tokenInDatabase)
    }
}
