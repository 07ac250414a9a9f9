import BrokerCrypto
import SCMProviders
import Foundation
import Testing

@Suite("A runner sees only its own integrations")
struct RunnerIsolationTests {
    @Test func eachRunnerGetsOnlyItsOwnSealedSecrets() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let alpha = try await api.registeredRunner("alpha")
            let beta = try await api.registeredRunner("beta")
            #expect(try await api.createIntegration(runnerID: alpha.id, Fixtures.entraIntegration(name: "a", secret: "alpha-secret")).status == .created)
            #expect(try await api.createIntegration(runnerID: beta.id, Fixtures.entraIntegration(name: "b", secret: "beta-secret")).status == .created)
            let patOnly = #"{"name":"pat","provider":"github","url":"https://github.com/contoso","pat":{"enabled":true}}"#
            #expect(try await api.createIntegration(runnerID: beta.id, patOnly).status == .created)

            let alphaView = try await api.request(.get, "/runner/v1/integrations", bearer: try await api.runnerAccessToken(alpha))
            let alphaItems = try #require(alphaView["integrations"] as? [[String: Any]])
            #expect(alphaItems.map { $0["name"] as? String } == ["a"])
            let alphaJWE = try #require((alphaItems[0]["oauth"] as? [String: Any])?["client_secret"] as? String)
            #expect(try BoundClientSecret(json: JWE.openString(alphaJWE, with: alpha.keys.encryption)).clientSecret == "alpha-secret")
            #expect(throws: CryptoError.self) { try JWE.open(alphaJWE, with: beta.keys.encryption) }

            let betaView = try await api.request(.get, "/runner/v1/integrations", bearer: try await api.runnerAccessToken(beta))
            let betaItems = try #require(betaView["integrations"] as? [[String: Any]])
            #expect(betaItems.map { $0["name"] as? String } == ["b", "pat"])
            #expect(betaItems[1]["oauth"] == nil)
            #expect(!betaView.text.contains("alpha"))
        }
    }

    @Test func deletingARunnerRevokesItsAccessTokens() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let token = try await api.runnerAccessToken(runner)
            #expect(try await api.admin(.delete, "/api/v1/runners/\(runner.id)").status == .noContent)
            #expect(try await api.request(.get, "/runner/v1/integrations", bearer: token).status == .unauthorized)
        }
    }
}
