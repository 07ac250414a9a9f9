import BrokerCrypto
import BrokerServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// What the security review of the connect flow asked for, each pinned by a test.
@Suite("Connect flow hardening")
struct ConnectHardeningTests {
    typealias Router = ConnectFlowRouterTests

    @Test func tryingAgainReusesTheFlowWithANewStateAndOnlyWithinItsTenMinutes() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let (query, cookie, _) = try await Router.start(api, setup)
            let declined = try await Router.callback(api, setup, query: "error=access_denied&state=\(query["state"]!)", cookie: cookie)
            let flowPath = try Router.flowPath(declined)

            let restart = try await api.request(.get, flowPath + "/restart", bearer: nil, headers: [.cookie: cookie])
            #expect(restart.status == .seeOther)
            let location = try #require(restart.headers[.location])
            #expect(location.hasPrefix("https://login.microsoftonline.com/"))
            let state = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "state" }?.value)
            #expect(state != query["state"])
            // The old state is dead; the new one completes the same flow.
            #expect(try await Router.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie).status == .badRequest)
            let page = try await Router.callback(api, setup, query: "code=c&state=\(state)", cookie: cookie)
            #expect(page.status == .ok)
            #expect(try Router.flowPath(page) == flowPath)
            #expect(page.text.contains("for scm-broker user alice"))

            // Past the flow's lifetime, no more tries: the user needs a new link.
            let (second, secondCookie, _) = try await Router.start(api, setup)
            let failed = try await Router.callback(api, setup, query: "error=access_denied&state=\(second["state"]!)", cookie: secondCookie)
            broker.clock.advance(by: 601)
            let late = try await api.request(.get, try Router.flowPath(failed) + "/restart", bearer: nil, headers: [.cookie: secondCookie])
            #expect(late.status == .badRequest)
        }
    }

    @Test func aFlowWhoseLeaseHolderDiedIsReportedOffline() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let (query, cookie, _) = try await Router.start(api, setup)
            let page = try await Router.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
            let flowPath = try Router.flowPath(page)
            #expect(try await Router.poll(api, setup).count == 1)   // leased, then the runner dies

            broker.clock.advance(by: 59)
            #expect(try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie]).string("status") == "pending")
            broker.clock.advance(by: 2)   // the lease ran out; nobody picked the job up again
            #expect(try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie]).string("status") == "pending")
            broker.clock.advance(by: 60)
            let offline = try await api.request(.get, flowPath, bearer: nil, headers: [.cookie: cookie])
            #expect((offline["error"] as? [String: Any])?["code"] as? String == "runner_offline", "\(offline.text)")
            #expect(try await Router.poll(api, setup).isEmpty, "the withdrawn job is not handed out again")
        }
    }

    @Test func aRepeatedConnectedReportIsADuplicateNotAnError() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let (query, cookie, _) = try await Router.start(api, setup)
            _ = try await Router.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
            let jobID = try #require(try await Router.poll(api, setup).first?["id"] as? String)
            let credentials = try JWE.seal("{}", to: setup.runner.keys.encryption.publicKey)
            let body = #"{"outcome":"connected","connection":{"credentials":"\#(credentials)","scm_user":{"id":"1","username":"a"}}}"#
            let first = try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: setup.runnerToken, body: body)
            #expect(first.string("status") == "accepted")
            let again = try await api.request(.post, "/runner/v1/jobs/\(jobID)/result", bearer: setup.runnerToken, body: body)
            #expect(again.status == .ok)
            #expect(again.string("status") == "duplicate")
            #expect(try await broker.store.connections(user: "alice").count == 1)
        }
    }

    @Test func serviceTokensCanBeListedAndRevoked() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let listed = try await api.admin(.get, "/api/v1/service-tokens")
            let tokens = try #require(listed["service_tokens"] as? [[String: Any]])
            #expect(tokens.count == 1)
            #expect(tokens[0]["role"] as? String == "environments")
            #expect(!listed.text.contains(setup.serviceToken))
            let id = try #require(tokens[0]["id"] as? String)
            #expect(try await api.request(.get, "/api/v1/service-tokens", bearer: setup.serviceToken).status == .unauthorized)
            #expect(try await api.admin(.delete, "/api/v1/service-tokens/\(id)").status == .noContent)
            #expect(try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken).status == .unauthorized)
            #expect(try await api.admin(.delete, "/api/v1/service-tokens/\(id)").status == .notFound)
        }
    }

    @Test func overHTTPSTheBrowserCookieIsHostPrefixedAndSecure() async throws {
        let broker = try TestBroker()
        let configuration = try BrokerConfiguration(publicURL: "https://broker.example.test",
                                                    dataDirectory: broker.configuration.dataDirectory,
                                                    keysDirectory: broker.configuration.keysDirectory)
        let app = try await buildApplication(configuration, store: broker.store, clock: broker.clock.brokerClock, logger: broker.log.logger())
        let admin = try broker.adminToken
        try await app.test(.router) { client in
            let api = APIClient(client: client, adminToken: admin, broker: broker, audience: configuration.tokenEndpoint)
            let setup = try await Router.setUp(api)
            let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            let path = String(try #require(links.string("oauth_url")).dropFirst("https://broker.example.test".count))
            let response = try await api.request(.get, path, bearer: nil)
            let setCookie = try #require(response.headers[values: .setCookie].first)
            #expect(setCookie.hasPrefix("__Host-scm_broker_browser=sbbr_"))
            #expect(setCookie.contains("Secure") && setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && setCookie.contains("Path=/"))
            #expect(!setCookie.contains("Domain"))
            // The unprefixed name is not accepted in its place.
            let state = try #require(URLComponents(string: response.headers[.location]!)?.queryItems?.first { $0.name == "state" }?.value)
            let value = String(setCookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1])
            let planted = try await Router.callback(api, setup, query: "code=c&state=\(state)", cookie: "scm_broker_browser=\(value)")
            #expect(planted.status == .badRequest)
            let real = try await Router.callback(api, setup, query: "code=c&state=\(state)", cookie: "__Host-scm_broker_browser=\(value)")
            #expect(real.status == .ok)
        }
    }

    @Test func changingWhereTheClientSecretGoesNeedsTheSecretAgain() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let path = "/api/v1/integrations/\(setup.integrationID)"
            let authority = try await api.admin(.patch, path, #"{"oauth":{"authority":"https://evil.example"}}"#)
            #expect(authority.errorCode == "client_secret_required", "\(authority.text)")
            let apiURL = try await api.admin(.patch, path, #"{"api_url":"https://evil.example/api"}"#)
            #expect(apiURL.errorCode == "client_secret_required", "\(apiURL.text)")
            #expect(try await broker.store.integration(id: setup.integrationID)?.apiURL == nil, "nothing was written")
            let both = try await api.admin(.patch, path, #"{"api_url":"https://ado-proxy.example/contoso","oauth":{"client_secret":"new-secret"}}"#)
            #expect(both.status == .ok, "\(both.text)")
            let sealed = try #require(try await broker.store.integration(id: setup.integrationID)?.oauth?.clientSecret.jwe)
            let bound = try JSONSerialization.jsonObject(with: Data(try JWE.open(sealed, with: setup.runner.keys.encryption))) as? [String: String]
            #expect(bound == ["client_secret": "new-secret", "authority": "https://login.microsoftonline.com",
                              "api_url": "https://ado-proxy.example/contoso"])
            #expect(try await api.admin(.patch, path, #"{"description":"only words"}"#).status == .ok)
        }
    }
}
