import BrokerCore
import BrokerCrypto
import FakeSCM
import Foundation
import RunnerAgent
import Testing

/// Expiring OAuth tokens are refreshed by the runner before use: once per connection however
/// many requests and runner processes ask at the same time, stored before use, and a refresh
/// token the SCM refuses for good marks the connection `needs_reconnect`.
@Suite("OAuth refresh end to end", .serialized)
struct RefreshEndToEndTests {
    static let kinds: [FakeSCM.Kind] = [.gitlab, .entra, .bitbucket]

    /// Connects alice with tokens about to expire (60 s, inside the runner's 5-minute margin),
    /// then lets the SCM issue normal ones again.
    func connectWithExpiringToken(_ stack: LiveStack, kind: FakeSCM.Kind, runner: TestRunner) async throws -> String {
        let integrationID = try await stack.integration(kind, runner: runner)
        stack.fake.accessTokenLifetime = 60
        try await stack.connect(integrationID: integrationID)
        stack.fake.accessTokenLifetime = 0
        return integrationID
    }

    func repository(_ kind: FakeSCM.Kind) -> (FakeSCM.Provider, String, String) {
        switch kind {
        case .gitlab: (.gitlab, "contoso/app", "https://gitlab.com/contoso/app.git")
        case .bitbucket: (.bitbucket, "contoso/app", "https://bitbucket.org/contoso/app")
        default: (.azureDevOps, "contoso/web/portal", "https://dev.azure.com/contoso/web/_git/portal")
        }
    }

    @Test(arguments: kinds)
    func tenConcurrentRequestsCauseOneRefresh(_ kind: FakeSCM.Kind) async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let agent = stack.startAgent(runner)
        _ = try await connectWithExpiringToken(stack, kind: kind, runner: runner)
        let (provider, path, url) = repository(kind)
        try stack.fake.createRepository(provider, path: path)
        let (status, environment) = try await stack.createEnvironment(runner: runner, repository: url)
        #expect(status == 201, "\(environment)")
        let environmentID = try #require(environment["id"] as? String)
        let before = try #require(try await stack.broker.store.connections(user: "alice").first)
        let refreshesBefore = stack.fake.stats.refreshes

        // Two runner processes (two providers, each with its own broker token), five requests each.
        let processes = [stack.makeProvider(runner), stack.makeProvider(runner)]
        let passwords = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<10 {
                group.addTask { try await processes[index % 2].credential(environmentID: environmentID).1.password }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(stack.fake.stats.refreshes - refreshesBefore == 1, "exactly one refresh at the SCM")
        #expect(Set(passwords).count == 1, "every request got the refreshed token")
        let fresh = try #require(passwords.first)
        #expect(stack.fake.isActive(accessToken: fresh))

        // Stored before use: the broker holds the new version, sealed, which opens to that token.
        let after = try #require(try await stack.broker.store.connection(id: before.id))
        #expect(after.version == before.version + 1)
        let opened = try JSONSerialization.jsonObject(with: Data(try JWE.open(after.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
        #expect(opened?["access_token"] as? String == fresh)
        if kind == .gitlab {
            // Strict rotation: the old tokens are dead, the new refresh token is live.
            let old = try JSONSerialization.jsonObject(with: Data(try JWE.open(before.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
            #expect(!stack.fake.isActive(refreshToken: try #require(old?["refresh_token"] as? String)))
            #expect(stack.fake.isActive(refreshToken: try #require(opened?["refresh_token"] as? String)))
        }
        let refreshed = try await stack.auditEvents("runner=\(runner.id)").filter { $0["action"] as? String == "token.refreshed" }
        #expect(refreshed.count == 1)
        #expect(refreshed.first?["connection"] as? String == before.id)

        // And git clones with it through the helper.
        let socket = try await stack.startCredentialSocket(runner)
        let git = try GitClient(environmentToken: try await socket.environmentToken(environmentID), socket: socket.path)
        let cloned = try await git.clone(try #require(environment["clone_url"] as? String))
        #expect(cloned.status == 0, "\(cloned.output)")
        #expect(stack.fake.stats.refreshes - refreshesBefore == 1, "a fresh token is not refreshed again")

        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(fresh))
        #expect(!stack.runnerLog.text.contains(fresh))
        await socket.stop()
        agent.cancel()
        try await stack.stop()
    }

    @Test func aRefusedRefreshTokenNeedsAReconnectAndStopsRefreshing() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let agent = stack.startAgent(runner)
        let integrationID = try await connectWithExpiringToken(stack, kind: .gitlab, runner: runner)
        try stack.fake.createRepository(.gitlab, path: "contoso/app")
        let (_, environment) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        let environmentID = try #require(environment["id"] as? String)
        let connection = try #require(try await stack.broker.store.connections(user: "alice").first)
        let opened = try JSONSerialization.jsonObject(with: Data(try JWE.open(connection.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
        stack.fake.revoke(refreshToken: try #require(opened?["refresh_token"] as? String))

        let provider = stack.makeProvider(runner)
        await #expect { try await provider.credential(environmentID: environmentID) } throws: { error in
            (error as? CloneCredentialError)?.code == .needsReconnect
        }
        let marked = try #require(try await stack.broker.store.connection(id: connection.id))
        #expect(marked.status == .needsReconnect)
        #expect(marked.statusReason == "invalid_grant")

        // No further refresh attempts: the broker refuses before the SCM is asked.
        let refreshes = stack.fake.stats.refreshes
        let tokenFailures = stack.fake.stats.tokenFailures
        await #expect { try await provider.credential(environmentID: environmentID) } throws: { error in
            (error as? CloneCredentialError)?.code.rawValue == "needs_reconnect"
        }
        #expect(stack.fake.stats.refreshes == refreshes)
        #expect(stack.fake.stats.tokenFailures == tokenFailures)

        // A new environment asks the user to connect again, with fresh links.
        let (status, refused) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        #expect(status == 409)
        let error = refused["error"] as? [String: Any]
        #expect(error?["code"] as? String == "scm_authorization_required")
        #expect((error?["message"] as? String)?.contains("invalid_grant") == true)
        #expect((error?["oauth_url"] as? String)?.contains("/connect/\(integrationID)?ticket=") == true)

        let events = try await stack.auditEvents("user=alice")
        #expect(events.contains { $0["action"] as? String == "token.refresh_failed" && $0["reason"] as? String == "invalid_grant" })
        #expect(events.contains { $0["action"] as? String == "credential.refused" && $0["reason"] as? String == "needs_reconnect" })
        #expect(events.contains { $0["action"] as? String == "environment.refused" && $0["reason"] as? String == "needs_reconnect" })

        // Connecting again makes it usable.
        try await stack.connect(integrationID: integrationID)
        let (again, _) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        #expect(again == 201)
        agent.cancel()
        try await stack.stop()
    }

    @Test func aRefusedOAuthAppIsTheIntegrationsFaultNotTheConnections() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let agent = stack.startAgent(runner)
        let integrationID = try await connectWithExpiringToken(stack, kind: .gitlab, runner: runner)
        let (_, environment) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        let environmentID = try #require(environment["id"] as? String)
        // The admin rotated the secret at GitLab but not in the broker: invalid_client.
        let integration = try await stack.api(.GET, "/api/v1/integrations/\(integrationID)")
        let clientID = try #require((integration["oauth"] as? [String: Any])?["client_id"] as? String)
        stack.fake.register(FakeSCM.App(kind: .gitlab, clientID: clientID, clientSecret: "rotated-at-gitlab",
                                        redirectURIs: [try #require(integration["callback_url"] as? String)]))
        await #expect { try await stack.makeProvider(runner).credential(environmentID: environmentID) } throws: { error in
            (error as? CloneCredentialError)?.code == .integrationMisconfigured
        }
        let connection = try #require(try await stack.broker.store.connections(user: "alice").first)
        #expect(connection.status == .active, "every user would have to reconnect for the admin's mistake")
        let failed = try await stack.auditEvents("user=alice").filter { $0["action"] as? String == "token.refresh_failed" }
        #expect(failed.map { $0["reason"] as? String } == ["integration_misconfigured (transient)"])
        agent.cancel()
        try await stack.stop()
    }

    @Test func transientSCMFailuresAreRetriedWithinTheBudget() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let agent = stack.startAgent(runner)
        _ = try await connectWithExpiringToken(stack, kind: .gitlab, runner: runner)
        let (_, environment) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        let environmentID = try #require(environment["id"] as? String)
        stack.fake.failNextTokenRequests(status: 503, count: 2)
        let (_, credential) = try await stack.makeProvider(runner).credential(environmentID: environmentID)
        #expect(stack.fake.isActive(accessToken: credential.password))
        #expect(credential.username == "oauth2")
        let connection = try #require(try await stack.broker.store.connections(user: "alice").first)
        #expect(connection.status == .active)
        #expect(connection.version == 2)
        agent.cancel()
        try await stack.stop()
    }
}
