import BrokerCrypto
import Foundation
import Hummingbird
import Testing

/// The connect flow's broker side, driven through the router: tickets, state, browser
/// binding, the exchange job and its result. The live tests with the fake SCM and the real
/// runner agent are in ConnectEndToEndTests.
@Suite("Connect flow: tickets, state and jobs")
struct ConnectFlowRouterTests {
    /// A broker with one registered runner and an Entra integration; returns what tests need.
    struct Setup {
        var runner: TestRunner
        var integrationID: String
        var serviceToken: String
        var runnerToken: String
    }

    static func setUp(_ api: APIClient, pat: Bool = true) async throws -> Setup {
        let runner = try await api.registeredRunner()
        let created = try await api.createIntegration(runnerID: runner.id, Fixtures.entraIntegration(extra: pat ? "" : ""))
        let integrationID = try #require(created.string("id"))
        return Setup(runner: runner, integrationID: integrationID, serviceToken: try await api.serviceToken(),
                     runnerToken: try await api.runnerAccessToken(runner))
    }

    /// Starts a flow: returns the authorize URL's query and the browser cookie.
    static func start(_ api: APIClient, _ setup: Setup, cookie: String? = nil) async throws -> (query: [String: String], cookie: String, location: String) {
        let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
        #expect(links.status == .created, "\(links.text)")
        let oauthURL = try #require(links.string("oauth_url"))
        let path = String(oauthURL.dropFirst("http://127.0.0.1:8080".count))
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        let response = try await api.request(.get, path, bearer: nil, headers: headers)
        #expect(response.status == .found, "\(response.text)")
        let location = try #require(response.headers[.location])
        let items = URLComponents(string: location)?.queryItems ?? []
        let query = Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        return (query, response.browserCookie ?? cookie ?? "", location)
    }

    static func callback(_ api: APIClient, _ setup: Setup, query: String, cookie: String?) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await api.request(.get, "/oauth/callback/\(setup.integrationID)?\(query)", bearer: nil, headers: headers)
    }

    /// The flow a connect page polls.
    static func flowPath(_ page: APIResponse) throws -> String {
        try #require(page.text.range(of: #"/connect/flows/[0-9a-f-]{36}"#, options: .regularExpression).map { String(page.text[$0]) })
    }

    static func poll(_ api: APIClient, _ setup: Setup) async throws -> [[String: Any]] {
        let response = try await api.request(.get, "/runner/v1/jobs?wait=0", bearer: setup.runnerToken)
        #expect(response.status == .ok, "\(response.text)")
        return response["jobs"] as? [[String: Any]] ?? []
    }

    @Test func serviceTokensAreForAdminsAndConnectLinksForTheEnvironmentService() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let created = try await api.admin(.post, "/api/v1/service-tokens", #"{"name":"env","role":"environments"}"#)
            #expect(created.status == .created)
            #expect(created.string("token")?.hasPrefix("sbst_") == true)
            #expect(try await api.request(.post, "/api/v1/service-tokens", bearer: setup.serviceToken,
                                          body: #"{"name":"x","role":"environments"}"#).status == .unauthorized)
            #expect(try await api.admin(.post, "/api/v1/service-tokens", #"{"name":"x","role":"root"}"#).errorCode == "invalid_request")

            let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            #expect(links.status == .created)
            let oauthURL = try #require(links.string("oauth_url"))
            #expect(oauthURL.hasPrefix("http://127.0.0.1:8080/connect/\(setup.integrationID)?ticket=sbct_"))
            #expect(links.string("pat_url")?.hasPrefix("http://127.0.0.1:8080/pat/\(setup.integrationID)?ticket=sbct_") == true)
            #expect(links.string("expires_at") != nil)
            #expect(try await api.connectLinks(integrationID: setup.integrationID, token: setup.runnerToken).status == .unauthorized)
            #expect(try await api.connectLinks(integrationID: "nope", token: setup.serviceToken).errorCode == "not_found")
            #expect(try await api.connectLinks(user: "al ice", integrationID: setup.integrationID, token: setup.serviceToken).errorCode == "invalid_request")
            #expect(try await api.connectLinks(integrationID: setup.integrationID, token: try api.adminToken).status == .created)
        }
    }

    @Test func startRedirectsToTheSCMWithStatePKCEAndABoundCookie() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            let path = String(try #require(links.string("oauth_url")).dropFirst("http://127.0.0.1:8080".count))
            let response = try await api.request(.get, path, bearer: nil)
            #expect(response.status == .found)
            let location = try #require(response.headers[.location])
            #expect(location.hasPrefix("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"))
            let items = URLComponents(string: location)?.queryItems ?? []
            let query = Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
            #expect(query["client_id"] == "11111111-2222-3333-4444-555555555555")
            #expect(query["redirect_uri"] == "http://127.0.0.1:8080/oauth/callback/\(setup.integrationID)")
            #expect(query["code_challenge_method"] == "S256")
            #expect(query["code_challenge"]?.count == 43)
            #expect((query["state"]?.count ?? 0) >= 43)
            #expect(query["scope"]?.contains("vso.code_write") == true && query["scope"]?.contains("offline_access") == true)
            let setCookie = try #require(response.headers[values: .setCookie].first)
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && !setCookie.contains("Secure"))

            // The ticket works once.
            let again = try await api.request(.get, path, bearer: nil)
            #expect(again.status == .badRequest)
            #expect(again.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(again.text.contains("This link can no longer be used"))
            #expect(try await api.request(.get, "/connect/\(setup.integrationID)", bearer: nil).status == .badRequest)
            #expect(try await api.request(.get, "/connect/nope?ticket=sbct_x", bearer: nil).status == .notFound)
        }
    }

    @Test func aTicketExpiresAfterTenMinutes() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            let path = String(try #require(links.string("oauth_url")).dropFirst("http://127.0.0.1:8080".count))
            broker.clock.advance(by: 601)
            #expect(try await api.request(.get, path, bearer: nil).status == .badRequest)
        }
    }

    @Test func callbackQueuesASealedExchangeAndTheRunnerCompletesIt() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            let state = try #require(query["state"])
            let page = try await Self.callback(api, setup, query: "code=planted-auth-code-123&state=\(state)", cookie: cookie)
            #expect(page.status == .ok)
            // The runner took a token a moment ago, so it counts as polling.
            #expect(page.text.contains("Connecting to Azure DevOps…"))
            #expect(page.headers[.init("Referrer-Policy")!] == "no-referrer")
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)

            let jobs = try await Self.poll(api, setup)
            #expect(jobs.count == 1)
            let job = jobs[0]
            #expect(job["kind"] as? String == "oauth_exchange")
            let payload = try #require(job["payload"] as? [String: Any])
            let sealedCode = try #require(payload["code"] as? String)
            #expect(try JWE.openString(sealedCode, with: setup.runner.keys.encryption) == "planted-auth-code-123")
            let verifier = try JWE.openString(try #require(payload["code_verifier"] as? String), with: setup.runner.keys.encryption)
            #expect(Base64URL.encode(SHA256.hash(Array(verifier.utf8))) == query["code_challenge"])
            #expect(payload["user"] as? String == "alice")
            #expect(payload["redirect_uri"] as? String == "http://127.0.0.1:8080/oauth/callback/\(setup.integrationID)")
            #expect(try await Self.poll(api, setup).isEmpty, "a leased job is not handed out twice")

            let flowPath = try Self.flowPath(page)
            let pending = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect(pending.string("status") == "pending")
            #expect(pending["waiting_for_runner"] as? Bool == false)
            #expect(try await api.request(.get, flowPath, bearer: nil).status == .notFound, "another browser cannot read the flow")

            let credentials = try JWE.seal("{\"access_token\":\"x\"}", to: setup.runner.keys.encryption.publicKey)
            let result = #"{"outcome":"connected","connection":{"credentials":"\#(credentials)","scm_user":{"id":"u-1","username":"alice@contoso.example","display_name":"Alice Example"},"scopes":["vso.code_write"],"expires_at":"2030-01-01T00:00:00Z"}}"#
            let jobID = try #require(job["id"] as? String)
            let accepted = try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: setup.runnerToken, body: result)
            #expect(accepted.string("status") == "accepted", "\(accepted.text)")
            let duplicate = try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: setup.runnerToken,
                                                  body: #"{"outcome":"failed","error":{"code":"invalid_grant","message":"late"}}"#)
            #expect(duplicate.string("status") == "duplicate")

            let connected = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect(connected.string("status") == "connected")
            let html = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie, .accept: "text/html"])
            #expect(html.text.contains("Azure DevOps is now connected"))
            #expect(html.text.contains("You can close this window"))

            let listed = try await api.request(.get, "/api/v1/users/alice/connections", bearer: setup.serviceToken)
            let connections = try #require(listed["connections"] as? [[String: Any]])
            #expect(connections.count == 1)
            #expect(connections[0]["kind"] as? String == "oauth")
            #expect(connections[0]["status"] as? String == "active")
            #expect((connections[0]["scm_user"] as? [String: Any])?["username"] as? String == "alice@contoso.example")
            #expect(!listed.text.contains(credentials))
            #expect(try await api.request(.get, "/api/v1/users/bob/connections", bearer: setup.serviceToken).text == #"{"connections":[]}"#)

            let connectionID = try #require(connections[0]["id"] as? String)
            #expect(try await api.request(.delete, "/api/v1/users/bob/connections/\(connectionID)", bearer: setup.serviceToken).status == .notFound)
            #expect(try await api.request(.delete, "/api/v1/users/alice/connections/\(connectionID)", bearer: setup.serviceToken).status == .noContent)
            let revoke = try await Self.poll(api, setup)
            #expect(revoke.map { $0["kind"] as? String } == ["revoke_connection"])
            #expect((revoke.first?["payload"] as? [String: Any])?["credentials"] as? String == credentials)

            #expect(!broker.log.text.contains("planted-auth-code-123"))
            #expect(!broker.responseBodies.contains("planted-auth-code-123"))
            let database = String(decoding: try await broker.databaseBytes(), as: UTF8.self)
            #expect(!database.contains("planted-auth-code-123"))
            #expect(!database.contains(verifier))
        }
    }

    @Test func resultsAreValidated() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            _ = try await Self.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
            let jobID = try #require(try await Self.poll(api, setup).first?["id"] as? String)
            let foreignKey = try JWE.seal("x", to: try Fixtures.runnerKeys().encryption.publicKey)
            let bad = [
                #"{"outcome":"connected","connection":{"credentials":"not-a-jwe","scm_user":{"id":"1","username":"a"}}}"#,
                #"{"outcome":"connected","connection":{"credentials":"\#(foreignKey)","scm_user":{"id":"1","username":"a"}}}"#,
                #"{"outcome":"succeeded"}"#,
                #"{"outcome":"failed","error":{"code":"Bad Code","message":"x"}}"#,
                #"{"outcome":"failed"}"#,
                #"{"outcome":"connected"}"#,
                #"{"outcome":"failed","error":{"code":"x"},"extra":1}"#,
                "[]",
            ]
            for body in bad {
                let response = try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: setup.runnerToken, body: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
            }
            #expect(try await api.request(.post, "/runner/v1/jobs/nope/result", bearer: setup.runnerToken,
                                          body: #"{"outcome":"succeeded"}"#).status == .notFound)
            let other = try await api.registeredRunner("other")
            let otherToken = try await api.runnerAccessToken(other)
            #expect(try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: otherToken,
                                          body: #"{"outcome":"failed","error":{"code":"x","message":""}}"#).status == .notFound)
            #expect(try await api.request(.get, "/runner/v1/jobs?wait=99", bearer: setup.runnerToken).status == .badRequest)
            #expect(try await api.request(.get, "/runner/v1/jobs", bearer: nil).status == .unauthorized)
            #expect(try await broker.store.job(id: jobID)?.status == .leased, "nothing was recorded for the refused results")
        }
    }

    @Test func badStateIsRefusedAndQueuesNothing() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            let state = try #require(query["state"])
            let otherBrowser = "scm_broker_browser=sbbr_" + Base64URL.encode(SecureRandom.bytes(32))
            let refusals: [(String, String?, String)] = [
                ("code=c", cookie, "does not belong"),
                ("code=c&state=forged-state-value", cookie, "does not belong"),
                ("code=c&state=\(state)", nil, "another browser"),
                ("code=c&state=\(state)", otherBrowser, "another browser"),
            ]
            for (queryString, browser, words) in refusals {
                let page = try await Self.callback(api, setup, query: queryString, cookie: browser)
                #expect(page.status == .badRequest, "\(queryString)")
                #expect(page.text.contains(words), "\(queryString): \(page.text)")
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            }
            #expect(try await Self.poll(api, setup).isEmpty)

            // The real browser still completes it, once.
            #expect(try await Self.callback(api, setup, query: "code=c&state=\(state)", cookie: cookie).status == .ok)
            let replay = try await Self.callback(api, setup, query: "code=c2&state=\(state)", cookie: cookie)
            #expect(replay.status == .badRequest)
            #expect(replay.text.contains("already used"))
            #expect(try await Self.poll(api, setup).count == 1)

            // A state for another integration's callback is refused too.
            let (other, otherCookie, _) = try await Self.start(api, setup)
            let wrongPath = try await api.request(.get, "/oauth/callback/\(UUID().uuidString.lowercased())?code=c&state=\(other["state"]!)",
                                                  bearer: nil, headers: [.cookie: otherCookie])
            #expect(wrongPath.status == .notFound)
        }
    }

    @Test func anExpiredFlowIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            broker.clock.advance(by: 601)
            let page = try await Self.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
            #expect(page.status == .badRequest)
            #expect(page.text.contains("expired"))
            #expect(try await Self.poll(api, setup).isEmpty)
        }
    }

    @Test func declinedAccessShowsItsOwnPage() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            let page = try await Self.callback(api, setup, query: "error=access_denied&error_description=The+user+declined&state=\(query["state"]!)", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.text.contains("You declined access"))
            #expect(page.text.contains("Try again"))
            #expect(try await Self.poll(api, setup).isEmpty)

            // "Try again" sends this browser (only) back to the SCM for the same flow.
            let flowPath = try Self.flowPath(page)
            #expect(try await api.request(.get, flowPath + "/restart", bearer: nil).status == .notFound)
            let restart = try await api.request(.get, flowPath + "/restart", bearer: nil, headers: [.cookie: cookie])
            #expect(restart.status == .seeOther)
            #expect(restart.headers[.location]?.hasPrefix("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?") == true)
        }
    }

    @Test func anOfflineRunnerIsReportedAfterTheTimeoutAndTheFlowCanBeRetried() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.setUp(api)
            let (query, cookie, _) = try await Self.start(api, setup)
            let page = try await Self.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
            let flowPath = try Self.flowPath(page)
            let polling = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect(polling["waiting_for_runner"] as? Bool == false, "the runner took a token a moment ago")
            broker.clock.advance(by: 11)
            let waiting = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect(waiting.string("status") == "pending")
            #expect(waiting["waiting_for_runner"] as? Bool == true)
            let waitingPage = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie, .accept: "text/html"])
            #expect(waitingPage.text.contains("Waiting for runner eu-1…"))

            broker.clock.advance(by: 50)
            let offline = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect(offline.string("status") == "failed")
            #expect((offline["error"] as? [String: Any])?["code"] as? String == "runner_offline")
            #expect(offline.string("retry_url") != nil)
            let html = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie, .accept: "text/html"])
            #expect(html.text.contains("Runner eu-1 is offline"))
            #expect(html.text.contains("Use a personal access token instead"))
            #expect(try await Self.poll(api, setup).isEmpty, "a withdrawn exchange is not handed to a runner that comes back")

            let retried = try await api.request(.post, flowPath + "/retry", bearer: nil, headers: [.cookie: cookie])
            #expect(retried.string("status") == "pending", "\(retried.text)")
            let jobs = try await Self.poll(api, setup)
            #expect(jobs.count == 1)
            #expect(try await api.request(.post, flowPath + "/retry", bearer: nil, headers: [.cookie: cookie]).status == .conflict)
        }
    }
}
