import BrokerCrypto
import SCMProviders
import Foundation
import Testing

@Suite("Integrations: create, read, update, delete")
struct IntegrationTests {
    @Test func createSealsTheClientSecretToTheRunnersKey() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let created = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(secret: "s3cret-value"))
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.string("id"))
            #expect(created.string("callback_url") == "http://127.0.0.1:8080/oauth/callback/\(id)")
            #expect(created.string("url") == "https://dev.azure.com/contoso")
            #expect(created.string("runner_id") == runner.id)
            let oauth = try #require(created["oauth"] as? [String: Any])
            #expect(oauth["flavor"] as? String == "entra")
            #expect(oauth["tenant"] as? String == "organizations")
            #expect(oauth["authority"] as? String == "https://login.microsoftonline.com")
            let secret = try #require(oauth["client_secret"] as? [String: Any])
            #expect(secret["sealed"] as? Bool == true)
            #expect(secret["key_id"] as? String == runner.keys.encryption.keyID)
            #expect(created["warnings"] == nil)
            #expect(!created.text.contains("s3cret-value"))

            // What the store holds opens with the runner's private key, and only with it.
            let stored = try #require(try await broker.store.integration(id: id)?.oauth?.clientSecret)
            let bound = try BoundClientSecret(json: try JWE.openString(stored.jwe, with: runner.keys.encryption))
            #expect(bound == BoundClientSecret(clientSecret: "s3cret-value", authority: "https://login.microsoftonline.com",
                                               apiURL: "https://dev.azure.com/contoso"))
            #expect(throws: CryptoError.self) { try JWE.open(stored.jwe, with: try Fixtures.runnerKeys().encryption) }

            let shown = try await api.admin(.get, "/api/v1/integrations/\(id)")
            #expect(shown.status == .ok)
            #expect(shown.string("name") == "contoso-ado")
            #expect(shown["labels"] as? [String] == ["prod"])
            #expect(shown.string("description") == "Contoso **ADO**")
            let listed = try await api.admin(.get, "/api/v1/runners/\(runner.id)/integrations")
            #expect((listed["integrations"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        }
    }

    @Test func urlFormsAreNormalised() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let cases: [(String, String, String)] = [
                ("azure-devops", "https://contoso@dev.azure.com/Contoso/Web/_git/Portal", "https://dev.azure.com/contoso"),
                ("azure-devops", "https://contoso.visualstudio.com/DefaultCollection", "https://dev.azure.com/contoso"),
                ("azure-devops", "git@ssh.dev.azure.com:v3/contoso/web/portal", "https://dev.azure.com/contoso"),
                ("github", "https://github.com/Contoso/", "https://github.com/contoso"),
                ("gitlab", "https://gitlab.example.com/Group/Sub", "https://gitlab.example.com/group/sub"),
                ("bitbucket", "https://bitbucket.org/workspace", "https://bitbucket.org/workspace"),
            ]
            for (index, (provider, url, expected)) in cases.enumerated() {
                let body = #"{"name":"i\#(index)","provider":"\#(provider)","url":"\#(url)","pat":{"enabled":true}}"#
                let response = try await api.createIntegration(runnerID: runner.id, body)
                #expect(response.status == .created, "\(url): \(response.text)")
                #expect(response.string("url") == expected)
            }
        }
    }

    @Test func legacyAzureDevOpsOAuthIsAcceptedWithADeprecationWarning() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let body = #"{"name":"legacy","provider":"azure-devops","url":"https://contoso.visualstudio.com","oauth":{"flavor":"legacy","client_id":"app-id","client_secret":"eyJ0eXAi.secret"}}"#
            let response = try await api.createIntegration(runnerID: runner.id, body)
            #expect(response.status == .created)
            let oauth = try #require(response["oauth"] as? [String: Any])
            #expect(oauth["authority"] as? String == "https://app.vssps.visualstudio.com")
            #expect(oauth["tenant"] == nil)
            let warnings = try #require(response["warnings"] as? [String])
            #expect(warnings.first?.contains("Entra") == true)
        }
    }

    @Test func authorityCanBeOverriddenForOtherProviders() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let github = #"{"name":"gh","provider":"github","url":"https://github.com/contoso","oauth":{"client_id":"Iv1.abc","client_secret":"x"}}"#
            let created = try await api.createIntegration(runnerID: runner.id, github)
            #expect((created["oauth"] as? [String: Any])?["authority"] as? String == "https://github.com")
            let local = #"{"name":"fake","provider":"gitlab","url":"http://127.0.0.1:9999/group","oauth":{"client_id":"abc","client_secret":"x","authority":"http://127.0.0.1:9999/"}}"#
            let overridden = try await api.createIntegration(runnerID: runner.id, local)
            #expect(overridden.status == .created)
            #expect((overridden["oauth"] as? [String: Any])?["authority"] as? String == "http://127.0.0.1:9999")
        }
    }

    static let invalidBodies: [(String, String)] = [
        (#"{"provider":"github","url":"https://github.com","pat":{"enabled":true}}"#, "missing field `name`"),
        (#"{"name":"x","provider":"svn","url":"https://github.com","pat":{"enabled":true}}"#, "unknown `provider`"),
        (#"{"name":"x","provider":"github","pat":{"enabled":true}}"#, "missing field `url`"),
        (#"{"name":"x","provider":"github","url":"not a url","pat":{"enabled":true}}"#, "`url`"),
        (#"{"name":"x","provider":"github","url":"http://github.com","pat":{"enabled":true}}"#, "https is required"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com","pat":{"enabled":true}}"#, "organization"),
        (#"{"name":"x","provider":"azure-devops","url":"https://me:pw@dev.azure.com/contoso","pat":{"enabled":true}}"#, "password or token"),
        (#"{"name":"x","provider":"bitbucket","url":"https://bitbucket.example.com/ws","pat":{"enabled":true}}"#, "Bitbucket Cloud"),
        (#"{"name":"x","provider":"github","url":"https://github.com"}"#, "needs an OAuth app"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":false}}"#, "needs an OAuth app"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":"yes"}}"#, "`pat.enabled` must be a boolean"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true,"scopes":1}}"#, "unknown field `pat.scopes`"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":true}"#, "`pat` must be an object"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true},"labels":"prod"}"#, "`labels` must be an array"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true},"labels":[1]}"#, "array of strings"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true},"labels":["a b"]}"#, "labels must be"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true},"description":7}"#, "`description` must be a string"),
        (#"{"name":"x","provider":"github","url":"https://github.com","pat":{"enabled":true},"colour":"red"}"#, "unknown field `colour`"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_secret":"s"}}"#, "missing field `oauth.client_id`"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_id":"c"}}"#, "missing field `oauth.client_secret`"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_id":"c","client_secret":""}}"#, "`oauth.client_secret` must be 1–4096"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_id":"c","client_secret":"a\nb"}}"#, "control characters"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_id":"c d","client_secret":"s"}}"#, "`oauth.client_id`"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"client_id":"c","client_secret":42}}"#, "`oauth.client_secret` must be a string"),
        (#"{"name":"x","provider":"github","url":"https://github.com","oauth":{"flavor":"entra","client_id":"c","client_secret":"s"}}"#, "azure-devops only"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"flavor":"magic","client_id":"c","client_secret":"s"}}"#, "\"entra\" or \"legacy\""),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"flavor":"legacy","tenant":"t.com","client_id":"c","client_secret":"s"}}"#, "entra flavor only"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"tenant":"consumers","client_id":"c","client_secret":"s"}}"#, "personal Microsoft accounts"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"tenant":"not a tenant","client_id":"c","client_secret":"s"}}"#, "`oauth.tenant`"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"client_id":"c","client_secret":"s","authority":"http://login.example.com"}}"#, "`oauth.authority`"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":{"client_id":"c","client_secret":"s","extra":1}}"#, "unknown field `oauth.extra`"),
        (#"{"name":"x","provider":"azure-devops","url":"https://dev.azure.com/c","oauth":"yes"}"#, "`oauth` must be an object"),
        (#"{"name":"x","provider":"azure-devops","url":"https://tfs.example.com/tfs/DefaultCollection","oauth":{"client_id":"c","client_secret":"s"}}"#, "Azure DevOps Server has no OAuth"),
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
    ]

    @Test(arguments: invalidBodies)
    func invalidBodiesAre400WithAClearMessageAndWriteNothing(_ body: String, _ message: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let response = try await api.createIntegration(runnerID: runner.id, body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(["invalid_request", "oauth_not_supported"].contains(response.errorCode ?? ""))
            #expect(response.errorMessage?.contains(message) == true, "\(response.text) should mention \(message)")
            #expect(try await broker.store.integrations(runnerID: runner.id).isEmpty)
        }
    }

    @Test func serverIntegrationsArePATOnly() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let body = #"{"name":"onprem","provider":"azure-devops","url":"https://tfs.example.com/tfs/DefaultCollection/Proj/_git/Repo","pat":{"enabled":true}}"#
            let response = try await api.createIntegration(runnerID: runner.id, body)
            #expect(response.status == .created)
            #expect(response.string("url") == "https://tfs.example.com/tfs/defaultcollection")
            #expect(response["oauth"] == nil)
        }
    }

    @Test func oversizedBodyIs413() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let huge = Fixtures.entraIntegration(extra: #","description":"\#(String(repeating: "a", count: 70 * 1024))""#)
            let response = try await api.createIntegration(runnerID: runner.id, huge)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
            #expect(try await broker.store.integrations(runnerID: runner.id).isEmpty)
        }
    }

    @Test func runnerStateAndNamesAreEnforced() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let (pendingID, _) = try await api.createRunner("pending")
            let pending = try await api.createIntegration(runnerID: pendingID, Fixtures.entraIntegration())
            #expect(pending.status == .conflict)
            #expect(pending.errorCode == "runner_not_registered")

            let missing = try await api.createIntegration(runnerID: "no-such-runner", Fixtures.entraIntegration())
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")

            let runner = try await api.registeredRunner("eu-2")
            #expect(try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration()).status == .created)
            let clash = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration())
            #expect(clash.status == .conflict)
            #expect(clash.errorCode == "conflict")
            // The same name on another runner is fine.
            let other = try await api.registeredRunner("eu-3")
            #expect(try await api.createIntegration(runnerID: other.id, Fixtures.entraIntegration()).status == .created)
        }
    }

    @Test func patchRotatesTheSecretAndTogglesSettings() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let created = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(secret: "first"))
            let id = try #require(created.string("id"))
            let before = try #require(try await broker.store.integration(id: id))
            broker.clock.advance(by: 60)

            let rotated = try await api.admin(.patch, "/api/v1/integrations/\(id)",
                #"{"oauth":{"client_secret":"second"},"pat":{"enabled":false},"labels":["blue","green"],"description":"new"}"#)
            #expect(rotated.status == .ok, "\(rotated.text)")
            #expect(rotated["labels"] as? [String] == ["blue", "green"])
            #expect((rotated["pat"] as? [String: Any])?["enabled"] as? Bool == false)
            #expect(rotated.string("description") == "new")
            let after = try #require(try await broker.store.integration(id: id))
            #expect(after.oauth?.clientID == before.oauth?.clientID)
            #expect(after.oauth?.clientSecret.jwe != before.oauth?.clientSecret.jwe)
            #expect(after.oauth!.clientSecret.updatedAt > before.oauth!.clientSecret.updatedAt)
            #expect(try BoundClientSecret(json: try JWE.openString(after.oauth!.clientSecret.jwe, with: runner.keys.encryption)).clientSecret == "second")

            // A PATCH without a secret keeps the sealed one as it is.
            let relabelled = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"labels":[]}"#)
            #expect(relabelled.status == .ok)
            #expect(try await broker.store.integration(id: id)?.oauth?.clientSecret == after.oauth?.clientSecret)

            // Sending the unchanged name and provider back is not a change.
            let same = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"name":"contoso-ado","provider":"azure-devops"}"#)
            #expect(same.status == .ok)
        }
    }

    @Test(arguments: [
        (#"{"name":"renamed"}"#, "`name` cannot be changed"),
        (#"{"provider":"github"}"#, "`provider` cannot be changed"),
        (#"{"url":"https://dev.azure.com/fabrikam"}"#, "`url` cannot be changed"),
        (#"{"oauth":null}"#, "needs an OAuth app"),
        (#"{"oauth":{"client_secret":""}}"#, "`oauth.client_secret`"),
        (#"{"pat":{"enabled":1}}"#, "`pat.enabled` must be a boolean"),
        (#"{"labels":[null]}"#, "array of strings"),
        (#"{"unknown":1}"#, "unknown field"),
    ])
    func invalidPatchesAre400AndChangeNothing(_ body: String, _ message: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let created = try await api.createIntegration(runnerID: runner.id,
                #"{"name":"contoso-ado","provider":"azure-devops","url":"https://dev.azure.com/contoso","oauth":{"client_id":"c","client_secret":"s"}}"#)
            let id = try #require(created.string("id"))
            let before = try await broker.store.integration(id: id)
            let response = try await api.admin(.patch, "/api/v1/integrations/\(id)", body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.errorMessage?.contains(message) == true, "\(response.text) should mention \(message)")
            #expect(try await broker.store.integration(id: id) == before)
        }
    }

    @Test func oauthCanBeRemovedWhenPATRemainsAndAddedBack() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let id = try #require(try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration()).string("id"))
            let removed = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"oauth":null}"#)
            #expect(removed.status == .ok)
            #expect(removed["oauth"] == nil)
            #expect(try await broker.store.integration(id: id)?.oauth == nil)
            let incomplete = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"oauth":{"client_id":"c"}}"#)
            #expect(incomplete.status == .badRequest)
            let added = try await api.admin(.patch, "/api/v1/integrations/\(id)", #"{"oauth":{"client_id":"c","client_secret":"again"}}"#)
            #expect(added.status == .ok)
            #expect((added["oauth"] as? [String: Any])?["tenant"] as? String == "organizations")
        }
    }

    @Test func deleteRemovesTheIntegrationAndDeletingTheRunnerRemovesItsIntegrations() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let first = try #require(try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(name: "a")).string("id"))
            let second = try #require(try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(name: "b")).string("id"))
            #expect(try await api.admin(.delete, "/api/v1/integrations/\(first)").status == .noContent)
            #expect(try await api.admin(.get, "/api/v1/integrations/\(first)").status == .notFound)
            #expect(try await api.admin(.delete, "/api/v1/integrations/\(first)").status == .notFound)
            #expect(try await api.admin(.patch, "/api/v1/integrations/\(first)", #"{"labels":[]}"#).status == .notFound)

            #expect(try await api.admin(.delete, "/api/v1/runners/\(runner.id)").status == .noContent)
            #expect(try await api.admin(.get, "/api/v1/integrations/\(second)").status == .notFound)
            #expect(try await api.admin(.get, "/api/v1/runners/\(runner.id)/integrations").status == .notFound)
            let bytes = String(decoding: try await broker.databaseBytes(), as: UTF8.self)
            let lingers = bytes.contains(runner.keys.encryption.keyID)
            #expect(!lingers, "secure_delete must leave nothing of a deleted runner in the file")
        }
    }
}
