import BrokerCore
import BrokerCrypto
import SCMProviders
import FakeSCM
import Foundation
import RunnerAgent
import Testing

/// The whole connect flow over real loopback HTTP: a browser with a cookie jar, the broker,
/// the real runner agent and the strict fake SCM.
@Suite("Connect flow end to end", .serialized)
struct ConnectEndToEndTests {
    struct Flavor: CustomTestStringConvertible, Sendable {
        var kind: FakeSCM.Kind
        var displayName: String
        var testDescription: String { kind.rawValue }
    }

    static let flavors = [
        Flavor(kind: .entra, displayName: "Azure DevOps"),
        Flavor(kind: .legacy, displayName: "Azure DevOps"),
        Flavor(kind: .github, displayName: "GitHub"),
        Flavor(kind: .gitlab, displayName: "GitLab"),
        Flavor(kind: .bitbucket, displayName: "Bitbucket"),
    ]

    @Test(arguments: flavors)
    func aUserConnectsAndOnlyTheRunnerCanOpenTheTokens(_ flavor: Flavor) async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(flavor.kind, runner: runner)
        let agent = stack.startAgent(runner)

        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        #expect(page.status == 200, "\(page.text)")
        #expect(page.visited.count == 3, "connect link → SCM authorize → broker callback")
        #expect(page.visited[1].hasPrefix(stack.fake.authority(flavor.kind)))
        #expect(page.url.hasPrefix(stack.publicURL + "/oauth/callback/\(integrationID)?"))
        #expect(page.text.contains("Connecting to \(flavor.displayName)") || page.text.contains("Waiting for runner eu-1"))

        let flowURL = try stack.flowURL(in: page)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(final["status"] as? String == "connected", "\(final)")
        let done = try await browser.get(flowURL)
        #expect(done.text.contains("\(flavor.displayName) is now connected"))
        #expect(done.text.contains("You can close this window"))

        let connections = try await stack.connections()
        #expect(connections.count == 1)
        let scmUser = connections.first?["scm_user"] as? [String: Any]
        #expect(scmUser?["username"] as? String != nil)
        #expect(connections.first?["kind"] as? String == "oauth")
        #expect(connections.first?["integration"] as? String == integrationID)

        // What the broker stored opens with the runner's key only, and holds a live token.
        let stored = try #require(try await stack.broker.store.connections(user: "alice").first)
        let credentials = try JSONSerialization.jsonObject(with: Data(try JWE.open(stored.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
        let accessToken = try #require(credentials?["access_token"] as? String)
        #expect(stack.fake.isActive(accessToken: accessToken))
        let refreshToken = credentials?["refresh_token"] as? String
        if flavor.kind != .github { #expect(refreshToken != nil) }
        #expect(throws: CryptoError.self) { try JWE.open(stored.credentials.jwe, with: try Fixtures.runnerKeys().encryption) }

        // Nothing secret reached the broker's database, logs or responses.
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        for secret in [accessToken, refreshToken, "registered-client-secret"].compactMap({ $0 }) {
            #expect(!database.contains(secret))
            #expect(!stack.broker.log.text.contains(secret))
            #expect(!stack.broker.responseBodies.contains(secret))
            #expect(!stack.runnerLog.text.contains(secret))
        }
        let callbackCode = try #require(URLComponents(string: page.url)?.queryItems?.first { $0.name == "code" }?.value)
        #expect(!stack.broker.log.text.contains(callbackCode))
        #expect(!database.contains(callbackCode))

        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func aSecondBrowserCannotCompleteAFlowStartedByTheFirst() async throws {
        let stack = try await LiveStack.start()
        let first = TestBrowser()
        let second = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.entra, runner: runner)

        // The first browser goes to the SCM; its callback URL is carried off to a second browser.
        let links = try await stack.connectLinks(integrationID: integrationID)
        let authorize = try await first.get(try #require(links["oauth_url"] as? String), redirects: 1)
        #expect(authorize.status == 302)
        let callbackURL = try #require(authorize.location)
        #expect(callbackURL.hasPrefix(stack.publicURL + "/oauth/callback/"))
        let stolen = try await second.get(callbackURL)
        #expect(stolen.status == 400)
        #expect(stolen.text.contains("started in another browser"))
        let agent = stack.startAgent(runner)
        try await Task.sleep(for: .milliseconds(500))
        #expect(stack.fake.stats.codeRedemptions == 0, "no exchange was queued for the second browser")

        // The browser that started it completes it.
        let page = try await first.get(callbackURL)
        #expect(page.status == 200)
        let final = try await stack.waitForFlow(first, flowURL: try stack.flowURL(in: page))
        #expect(final["status"] as? String == "connected")
        #expect(try await second.get(try stack.flowURL(in: page), accept: "application/json").status == 404)
        agent.cancel()

        try await first.shutdown()
        try await second.shutdown()
        try await stack.stop()
    }
}

@Suite("Connections end to end", .serialized)
struct ConnectionLifecycleEndToEndTests {
    /// Connects alice once through the browser; returns the access token the runner sealed.
    static func connect(_ stack: LiveStack, _ browser: TestBrowser, integrationID: String, runner: TestRunner) async throws -> String {
        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        let final = try await stack.waitForFlow(browser, flowURL: try stack.flowURL(in: page))
        #expect(final["status"] as? String == "connected", "\(final)")
        let stored = try #require(try await stack.broker.store.connections(user: "alice").first)
        let credentials = try JSONSerialization.jsonObject(with: Data(try JWE.open(stored.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
        return try #require(credentials?["access_token"] as? String)
    }

    @Test func reconnectingReplacesTheConnectionAndDeletingRevokesTheTokensAtTheSCM() async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        let agent = stack.startAgent(runner)

        let firstToken = try await Self.connect(stack, browser, integrationID: integrationID, runner: runner)
        let secondToken = try await Self.connect(stack, browser, integrationID: integrationID, runner: runner)
        #expect(firstToken != secondToken)
        let connections = try await stack.connections()
        #expect(connections.count == 1, "a second connect replaces the first")
        try await Self.eventually { !stack.fake.isActive(accessToken: firstToken) }
        #expect(stack.fake.isActive(accessToken: secondToken))

        let id = try #require(connections.first?["id"] as? String)
        let (status, _) = try await stack.apiResponse(.DELETE, "/api/v1/users/alice/connections/\(id)", token: stack.serviceToken)
        #expect(status == 204)
        #expect(try await stack.connections().isEmpty)
        try await Self.eventually { !stack.fake.isActive(accessToken: secondToken) }
        #expect(stack.fake.stats.revocations >= 2)

        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func deletingTheIntegrationRevokesItsConnectionsTokens() async throws {
        let alice = try await ConnectedUser.gitlab()
        #expect(alice.stack.fake.isActive(accessToken: alice.token))

        let (status, _) = try await alice.stack.apiResponse(.DELETE, "/api/v1/integrations/\(alice.integrationID)")
        #expect(status == 204)
        #expect(try await alice.stack.connections().isEmpty)
        try await Self.eventually { !alice.stack.fake.isActive(accessToken: alice.token) }
        try await alice.finish()
    }

    @Test func aForgedRevocationCannotSendTokensElsewhere() async throws {
        let alice = try await ConnectedUser.gitlab()
        let (stack, runner, integrationID, token) = (alice.stack, alice.runner, alice.integrationID, alice.token)
        let connection = try #require(try await stack.broker.store.connections(user: "alice").first)

        // Someone who can write to the database queues a revocation of alice's real tokens for a
        // made-up deleted integration whose OAuth service is theirs, with a client secret they
        // sealed to the runner's public key themselves.
        let evil = "http://127.0.0.1:9/evil"
        let forgedSecret = try JWE.seal(try BoundClientSecret(clientSecret: "x", authority: evil, apiURL: evil).json(),
                                        to: runner.keys.encryption.publicKey)
        var fake = try #require(try await stack.broker.store.integration(id: integrationID))
        fake.id = UUID().uuidString.lowercased()
        fake.oauth?.authority = evil
        fake.oauth?.clientSecret.jwe = forgedSecret
        var forged = Job.revocation(of: connection, id: UUID().uuidString.lowercased(), now: Date(), deletedIntegration: fake)
        forged.integrationID = fake.id
        try await stack.broker.store.enqueueJob(forged)

        try await Self.eventually { stack.runnerLog.text.contains("endpoint_mismatch") }
        #expect(stack.fake.isActive(accessToken: token), "the tokens went nowhere")
        try await alice.finish()
    }

    /// Alice, connected to a GitLab integration through the browser, with the runner agent running.
    struct ConnectedUser {
        let stack: LiveStack
        let browser: TestBrowser
        let runner: TestRunner
        let integrationID: String
        let agent: Task<Void, any Error>
        let token: String

        static func gitlab() async throws -> ConnectedUser {
            let stack = try await LiveStack.start()
            let browser = TestBrowser()
            let runner = try await stack.registerRunner()
            let integrationID = try await stack.integration(.gitlab, runner: runner)
            let agent = stack.startAgent(runner)
            let token = try await ConnectionLifecycleEndToEndTests.connect(stack, browser, integrationID: integrationID, runner: runner)
            return ConnectedUser(stack: stack, browser: browser, runner: runner, integrationID: integrationID, agent: agent, token: token)
        }

        func finish() async throws {
            agent.cancel()
            try await browser.shutdown()
            try await stack.stop()
        }
    }

    static func eventually(_ condition: @Sendable () -> Bool, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("condition not met within \(timeout)")
    }
}
