import BrokerCrypto
import Foundation
import Hummingbird
import SCMProviders
import Testing

/// The PAT page's broker side through the router: ticket, form, CSRF, input rules, sealing.
/// Validation by the real runner against the fake SCM is in PATEndToEndTests.
@Suite("PAT route: form, CSRF and input rules")
struct PATRouteRouterTests {
    typealias Router = ConnectFlowRouterTests

    struct Form {
        var flowPath: String
        var csrf: String
        var cookie: String
        var text: String
    }

    /// Opens the PAT link; returns the form's CSRF token, the flow and the cookie.
    static func open(_ api: APIClient, _ setup: Router.Setup) async throws -> Form {
        let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
        let patURL = try #require(links.string("pat_url"))
        let response = try await api.request(.get, String(patURL.dropFirst("http://127.0.0.1:8080".count)), bearer: nil)
        #expect(response.status == .ok, "\(response.text)")
        return try form(response, cookie: try #require(response.browserCookie))
    }

    static func form(_ response: APIResponse, cookie: String) throws -> Form {
        let csrf = try #require(response.text.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression)
            .map { String(response.text[$0]).dropFirst(#"name="csrf" value=""#.count).dropLast() }.map(String.init))
        let action = try #require(response.text.range(of: #"/connect/flows/[0-9a-f-]{36}/pat"#, options: .regularExpression)
            .map { String(response.text[$0]) })
        return Form(flowPath: String(action.dropLast(4)), csrf: csrf, cookie: cookie, text: response.text)
    }

    static func submit(_ api: APIClient, _ form: Form, token: String, csrf: String? = nil, cookie: String? = nil) async throws -> APIResponse {
        let body = "csrf=\(Fixtures.formEncode(csrf ?? form.csrf))&token=\(Fixtures.formEncode(token))"
        return try await api.request(.post, form.flowPath + "/pat", bearer: nil, body: body, contentType: "application/x-www-form-urlencoded",
                                     headers: [.cookie: cookie ?? form.cookie])
    }

    @Test func thePageExplainsWhatToCreateAndTheTokenIsSealedAtOnce() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let form = try await Self.open(api, setup)
            #expect(form.text.contains("https://dev.azure.com/contoso/_usersSettings/tokens"))
            #expect(form.text.contains("Code: Read &amp; write"))
            #expect(form.text.contains("30 days"))
            #expect(form.text.contains("for scm-broker user alice") || form.text.contains("For scm-broker user alice"))

            let submitted = try await Self.submit(api, form, token: "planted-pat-value-0123456789")
            #expect(submitted.status == .seeOther, "\(submitted.text)")
            #expect(submitted.headers[.location] == form.flowPath)
            let jobs = try await Router.poll(api, setup)
            #expect(jobs.map { $0["kind"] as? String } == ["pat_validation"])
            let sealed = try #require((jobs.first?["payload"] as? [String: Any])?["token"] as? String)
            let bound = try BoundPAT(json: JWE.openString(sealed, with: setup.runner.keys.encryption))
            #expect(bound == BoundPAT(token: "planted-pat-value-0123456789", username: nil, apiURL: "https://dev.azure.com/contoso"))

            let waiting = try await api.request(.get, form.flowPath, bearer: nil, headers: [.cookie: form.cookie, .accept: "text/html"])
            #expect(waiting.text.contains("Checking your token with Azure DevOps"))
            // The same form cannot be posted twice.
            #expect(try await Self.submit(api, form, token: "another-token-value").status == .forbidden)

            #expect(!broker.log.text.contains("planted-pat-value"))
            #expect(!broker.responseBodies.contains("planted-pat-value"))
            let database = String(decoding: try await broker.databaseBytes(), as: UTF8.self)
            #expect(!database.contains("planted-pat-value"))
        }
    }

    @Test(arguments: [
        ("", "was empty"),
        ("   ", "was empty"),
        (String(repeating: "x", count: 1025), "over 1 KiB"),
        ("abc\ndef", "control characters"),
        ("abc\u{7}def", "control characters"),
        (" padded-token ", "spaces"),
    ])
    func badInputShowsTheFormAgainAndQueuesNothing(_ token: String, _ words: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let form = try await Self.open(api, setup)
            let again = try await Self.submit(api, form, token: token)
            #expect(again.status == .badRequest)
            #expect(again.text.contains(words), "\(again.text)")
            #expect(again.text.contains(#"name="token""#), "the form is ready for another try")
            #expect(try await Router.poll(api, setup).isEmpty)
            // The new form's token works; the old one is spent.
            let next = try Self.form(again, cookie: form.cookie)
            #expect(next.csrf != form.csrf)
            #expect(try await Self.submit(api, form, token: "valid-looking-token").status == .forbidden)
            #expect(try await Self.submit(api, next, token: "valid-looking-token").status == .seeOther)
        }
    }

    @Test func aPostWithoutTheFormsCSRFTokenOrFromAnotherBrowserOrTicketIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let form = try await Self.open(api, setup)
            let other = try await Self.open(api, setup)
            let noCSRF = try await api.request(.post, form.flowPath + "/pat", bearer: nil, body: "token=abc-token-value",
                                               contentType: "application/x-www-form-urlencoded", headers: [.cookie: form.cookie])
            #expect(noCSRF.status == .forbidden)
            #expect(try await Self.submit(api, form, token: "abc-token-value", csrf: other.csrf).status == .forbidden, "another ticket's form")
            #expect(try await Self.submit(api, form, token: "abc-token-value", cookie: other.cookie).status == .notFound, "another browser")
            #expect(try await Self.submit(api, form, token: "abc-token-value", csrf: "forged").status == .forbidden)
            #expect(try await Router.poll(api, setup).isEmpty)
        }
    }

    @Test func patDisabledIsA403PageAndOrganizationModeNeedsNoConnection() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let path = "/api/v1/integrations/\(setup.integrationID)"
            let links = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            let patPath = String(try #require(links.string("pat_url")).dropFirst("http://127.0.0.1:8080".count))
            #expect(try await api.admin(.patch, path, #"{"pat":{"enabled":false}}"#).status == .ok)
            let refused = try await api.request(.get, patPath, bearer: nil)
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(refused.text.contains("Personal access tokens are turned off"))
            let withoutPAT = try await api.connectLinks(integrationID: setup.integrationID, token: setup.serviceToken)
            #expect(withoutPAT.string("pat_url") == nil)
            #expect(withoutPAT["connection_required"] as? Bool == true)
        }
    }

    @Test func aPATFormsTokenIsNoOAuthStateAndPATFlowsTryAgainOnTheirForm() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let form = try await Self.open(api, setup)
            let callback = try await Router.callback(api, setup, query: "code=c&state=\(Fixtures.formEncode(form.csrf))", cookie: form.cookie)
            #expect(callback.status == .badRequest)
            #expect(try await Router.poll(api, setup).isEmpty)
        }
    }

    @Test(arguments: ["t\u{00E9}st-token", "tok\u{200B}en", "two words"])
    func tokensAreOnePrintableASCIIWord(_ token: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Router.setUp(api)
            let form = try await Self.open(api, setup)
            let again = try await Self.submit(api, form, token: token)
            #expect(again.status == .badRequest)
            #expect(try await Router.poll(api, setup).isEmpty)
        }
    }

    @Test func organizationCredentialsAreCheckedBeforeTheRunnerIsAsked() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let created = try await api.createIntegration(runnerID: runner.id,
                                                          #"{"name":"bb","provider":"bitbucket","url":"https://bitbucket.org/contoso","pat":{"enabled":true}}"#)
            let path = "/api/v1/integrations/\(try #require(created.string("id")))"
            let cases = [
                #"{"credential_mode":"organization","organization_credentials":[{"token":"abc-token"}]}"#,
                #"{"credential_mode":"organization","organization_credentials":[]}"#,
                #"{"credential_mode":"organization","organization_credentials":[{"username":"a","token":""}]}"#,
                #"{"credential_mode":"organization","organization_credentials":[{"username":"a\u007f","token":"abc"}]}"#,
                #"{"credential_mode":"organization","organization_credentials":[{"username":"a","token":"abc","extra":1}]}"#,
                #"{"credential_mode":"sideways"}"#,
                #"{"credential_mode":"user","organization_credentials":[{"username":"a","token":"abc"}]}"#,
                #"{"credential_mode":"organization"}"#,
                #"{"credential_mode":"user","description":"mixed"}"#,
            ]
            for body in cases {
                let response = try await api.admin(.patch, path, body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
            }
            #expect(try await Router.poll(api, Router.Setup(runner: runner, integrationID: "", serviceToken: "",
                                                            runnerToken: try await api.runnerAccessToken(runner))).isEmpty)
            #expect(try await api.admin(.get, path).string("credential_mode") == "user")
        }
    }
}
