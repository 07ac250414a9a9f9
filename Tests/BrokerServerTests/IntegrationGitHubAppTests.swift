import BrokerCrypto
import Foundation
import SCMProviders
import Testing

/// GitHub App integrations and `git_url`: the private key is sealed on arrival with the API it
/// may be used at, never shown, and only GitHub integrations take one.
@Suite("Integrations: GitHub Apps and git URLs")
struct IntegrationGitHubAppTests {
    /// A fresh app key per test (never a key in the repository), and one line of its body to
    /// look for where it must not be.
    static func appKey() throws -> (pem: String, marker: String) {
        let pem = try RSAPrivateKey.generate(bits: 2048).pem()
        return (pem, String(pem.split(separator: "\n")[2]))
    }

    static func body(provider: String = "github", url: String = "https://github.com/contoso", app: String) -> String {
        #"{"name":"gh","provider":"\#(provider)","url":"\#(url)","github_app":\#(app)}"#
    }

    static func app(_ pem: String) -> String { #"{"app_id":"42","installation_id":"777","private_key":\#(Fixtures.jsonString(pem))}"# }

    @Test func theKeyIsSealedWithItsAPIAndNeverShown() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let (pem, marker) = try Self.appKey()
            let created = try await api.createIntegration(runnerID: runner.id, Self.body(app: Self.app(pem)).replacingOccurrences(
                of: #""github_app""#, with: #""git_url":"https://git-proxy.example.com/github/","github_app""#))
            #expect(created.status == .created, "\(created.text)")
            #expect(created.string("credential_mode") == "github_app")
            #expect(created.string("git_url") == "https://git-proxy.example.com/github")
            let app = try #require(created["github_app"] as? [String: Any])
            #expect(app["app_id"] as? String == "42")
            #expect((app["private_key"] as? [String: Any])?["sealed"] as? Bool == true)
            #expect(!created.text.contains(marker))
            let id = try #require(created.string("id"))

            // The runner gets it sealed, bound to the API URL.
            let listing = try await api.request(.get, "/runner/v1/integrations", bearer: try await api.runnerAccessToken(runner))
            let integration = try #require((listing["integrations"] as? [[String: Any]])?.first)
            let sealed = try #require((integration["github_app"] as? [String: Any])?["private_key"] as? String)
            let bound = try BoundGitHubAppKey(json: try JWE.openString(sealed, with: runner.keys.encryption))
            #expect(bound.privateKey == pem)
            #expect(bound.apiURL == "https://api.github.com")
            #expect(integration["git_url"] as? String == "https://git-proxy.example.com/github")

            // Changing the API without the key again is refused; connect links need no connection.
            let moved = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"api_url":"https://evil.example.com/api"}"#)
            #expect(moved.errorCode == "private_key_required", "\(moved.text)")
            let links = try await api.connectLinks(integrationID: id, token: try await api.serviceToken())
            #expect(links["connection_required"] as? Bool == false)
            #expect(links.string("credential_mode") == "github_app")
            #expect(try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"credential_mode":"organization"}"#).errorCode == "invalid_request")

            // Removing the app returns the integration to user mode (it keeps the PAT route if enabled).
            let removed = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"github_app":null,"pat":{"enabled":true}}"#)
            #expect(removed.string("credential_mode") == "user", "\(removed.text)")
            #expect(removed["github_app"] == nil)

            let database = String(decoding: try await broker.databaseBytes(), as: UTF8.self)
            #expect(!database.contains(marker))
            #expect(!broker.log.text.contains(marker))
            #expect(!broker.responseBodies.contains(marker))
        }
    }

    @Test func invalidAppsAndGitURLsAreRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let (pem, marker) = try Self.appKey()
            let cases = [
                Self.body(provider: "gitlab", url: "https://gitlab.com/contoso", app: Self.app(pem)),
                Self.body(app: #"{"app_id":"42","installation_id":"777"}"#),
                Self.body(app: #"{"app_id":"forty-two","installation_id":"777","private_key":\#(Fixtures.jsonString(pem))}"#),
                Self.body(app: #"{"app_id":"42","private_key":\#(Fixtures.jsonString(pem))}"#),
                Self.body(app: #"{"app_id":"42","installation_id":"777","private_key":"not a pem key at all, just some text that is long enough to pass"}"#),
                Self.body(app: #"{"app_id":"42","installation_id":"777","private_key":\#(Fixtures.jsonString(pem)),"webhook_secret":"x"}"#),
                Self.body(app: "true"),
                Self.body(url: "https://github.com", app: Self.app(pem)),
                Self.body(app: Self.app(pem.replacingOccurrences(of: "PRIVATE KEY", with: "PUBLIC KEY"))),
                #"{"name":"gh","provider":"github","url":"https://github.com/contoso","pat":{"enabled":true},"git_url":"http://git.example.com"}"#,
                #"{"name":"gh","provider":"github","url":"https://github.com/contoso","pat":{"enabled":true},"git_url":"ftp://git.example.com"}"#,
            ]
            for body in cases {
                let response = try await api.createIntegration(runnerID: runner.id, body)
                #expect(response.status == .badRequest, "\(body) → \(response.text)")
                #expect(!response.text.contains(marker))
            }
            #expect(try await broker.store.integrations(runnerID: runner.id).isEmpty)
        }
    }
}
