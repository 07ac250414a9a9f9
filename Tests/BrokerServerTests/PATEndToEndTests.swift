import BrokerCrypto
import FakeSCM
import Foundation
import RunnerAgent
import Testing

/// PATs end to end: the browser route and the admin route, the real runner agent validating
/// against the fake SCM, one test per stable code.
@Suite("PAT validation end to end", .serialized)
struct PATEndToEndTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var kind: FakeSCM.Kind = .entra
        var organization = "contoso"
        var token = "pat-under-test-0123456789"
        var username: String?
        var pat: FakeSCM.PAT?
        var prepare: @Sendable (FakeSCM) -> Void = { _ in }
        var code: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "Azure DevOps valid", pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso")),
        Case(name: "Azure DevOps unknown token", code: "invalid_credentials"),
        Case(name: "Azure DevOps token of another organization",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "fabrikam"), code: "invalid_credentials"),
        Case(name: "Azure DevOps token without Code read",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso", canReadCode: false),
             code: "invalid_permissions"),
        Case(name: "Azure DevOps unknown organization", organization: "nowhere",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso"), code: "organization_not_found"),
        Case(name: "Azure DevOps no repositories",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso"),
             prepare: { $0.setRepositories(organization: "contoso", []) }, code: "no_resources"),
        Case(name: "Azure DevOps down",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso"),
             prepare: { $0.failNextAPICalls(.azureDevOps, status: 503, count: 10) }, code: "scm_unreachable"),
        Case(name: "Azure DevOps rate limit is waited out",
             pat: .init(provider: .azureDevOps, token: "pat-under-test-0123456789", organization: "contoso"),
             prepare: { $0.rateLimitNext(.azureDevOps, count: 1, style: .tooManyRequests) }),
        Case(name: "GitHub valid", kind: .github, token: "ghp_undertest000000000000000000000000000",
             pat: .init(provider: .github, token: "ghp_undertest000000000000000000000000000", scopes: ["repo"])),
        Case(name: "GitHub 403 rate limit is not an invalid token", kind: .github, token: "ghp_undertest000000000000000000000000000",
             pat: .init(provider: .github, token: "ghp_undertest000000000000000000000000000", scopes: ["repo"]),
             prepare: { $0.rateLimitNext(.github, count: 1, style: .githubForbidden) }),
        Case(name: "GitHub classic token without repo", kind: .github, token: "ghp_undertest000000000000000000000000000",
             pat: .init(provider: .github, token: "ghp_undertest000000000000000000000000000", scopes: ["read:org"]), code: "invalid_permissions"),
        Case(name: "GitHub revoked token", kind: .github, token: "ghp_undertest000000000000000000000000000",
             pat: .init(provider: .github, token: "ghp_undertest000000000000000000000000000", scopes: ["repo"], revoked: true),
             code: "invalid_credentials"),
        Case(name: "GitLab valid", kind: .gitlab, token: "glpat-undertest0000000000",
             pat: .init(provider: .gitlab, token: "glpat-undertest0000000000", scopes: ["read_user", "write_repository"])),
        Case(name: "GitLab token without repository scope", kind: .gitlab, token: "glpat-undertest0000000000",
             pat: .init(provider: .gitlab, token: "glpat-undertest0000000000", scopes: ["read_user"]), code: "invalid_permissions"),
        Case(name: "Bitbucket valid", kind: .bitbucket, token: "bb-token-under-test-0123", username: "alice",
             pat: .init(provider: .bitbucket, token: "bb-token-under-test-0123", username: "alice")),
        Case(name: "Bitbucket wrong username", kind: .bitbucket, token: "bb-token-under-test-0123", username: "mallory",
             pat: .init(provider: .bitbucket, token: "bb-token-under-test-0123", username: "alice"), code: "invalid_credentials"),
    ]

    @Test(arguments: cases)
    func throughTheBrowser(_ testCase: Case) async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(testCase.kind, runner: runner, organization: testCase.organization)
        if let pat = testCase.pat { stack.fake.add(pat) }
        testCase.prepare(stack.fake)
        let agent = stack.startAgent(runner)

        let landed = try await stack.submitPAT(browser, integrationID: integrationID, token: testCase.token, username: testCase.username)
        #expect(landed.status == 200, "\(landed.text)")
        let flowURL = try stack.flowURL(in: landed)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        let page = try await browser.get(flowURL)
        if let code = testCase.code {
            #expect((final["error"] as? [String: Any])?["code"] as? String == code, "\(final)")
            #expect(page.text.contains("(\(code))"), "the reason is on the page")
            #expect(page.text.contains(#"name="token""#), "the form is ready for another try")
            #expect(try await stack.connections().isEmpty)
        } else {
            #expect(final["status"] as? String == "connected", "\(final)")
            #expect(page.text.contains("is now connected"))
            #expect(page.text.contains("Connected as"))
            let connections = try await stack.connections()
            #expect(connections.first?["kind"] as? String == "pat")
            let stored = try #require(try await stack.broker.store.connections(user: "alice").first)
            let opened = try JSONSerialization.jsonObject(with: Data(try JWE.open(stored.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
            #expect(opened?["access_token"] as? String == testCase.token)
        }
        // The planted PAT is nowhere in the broker.
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(testCase.token))
        #expect(!stack.broker.log.text.contains(testCase.token))
        #expect(!stack.broker.responseBodies.contains(testCase.token))
        #expect(!stack.runnerLog.text.contains(testCase.token))
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test(arguments: cases)
    func throughTheAdminAPI(_ testCase: Case) async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(testCase.kind, runner: runner, organization: testCase.organization)
        if let pat = testCase.pat { stack.fake.add(pat) }
        testCase.prepare(stack.fake)
        let agent = stack.startAgent(runner)

        let username = testCase.username.map { #""username":"\#($0)","# } ?? ""
        let body = #"{"credential_mode":"organization","organization_credentials":[{\#(username)"token":"\#(testCase.token)"}]}"#
        let (status, json) = try await stack.apiResponse(.PATCH, "/api/v1/integrations/\(integrationID)", body)
        if let code = testCase.code {
            #expect(status == 400)
            #expect((json["error"] as? [String: Any])?["code"] as? String == code, "\(json)")
            let shown = try await stack.api(.GET, "/api/v1/integrations/\(integrationID)")
            #expect(shown["credential_mode"] as? String == "user", "nothing was written")
        } else {
            #expect(status == 200, "\(json)")
            #expect(json["credential_mode"] as? String == "organization")
            let credentials = json["organization_credentials"] as? [[String: Any]]
            #expect(credentials?.count == 1)
            #expect((credentials?.first?["scm_user"] as? [String: Any])?["username"] != nil)
            let links = try await stack.connectLinks(integrationID: integrationID)
            #expect(links["connection_required"] as? Bool == false)
            #expect(links["oauth_url"] == nil)
        }
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(testCase.token))
        #expect(!stack.broker.log.text.contains(testCase.token))
        #expect(!stack.broker.responseBodies.contains(testCase.token))
        agent.cancel()
        try await stack.stop()
    }

    @Test func anOfflineRunnerCannotValidateOrganizationCredentials() async throws {
        let stack = try await LiveStack.start(credentialValidationTimeout: 1)
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.entra, runner: runner)
        let (status, json) = try await stack.apiResponse(.PATCH, "/api/v1/integrations/\(integrationID)",
                                                          #"{"credential_mode":"organization","organization_credentials":[{"token":"abc-token-value"}]}"#)
        #expect(status == 503)
        #expect((json["error"] as? [String: Any])?["code"] as? String == "runner_offline")
        #expect(try await stack.broker.store.organizationCredentials(integrationID: integrationID).isEmpty)
        // A runner that starts later finds nothing to validate.
        let leased = try await stack.broker.store.leaseJobs(runnerID: runner.id, limit: 10, leaseDuration: 60, now: Date())
        #expect(leased.isEmpty)
        try await stack.stop()
    }
}
