import BrokerCrypto
import BrokerProtocol
import FakeSCM
import Foundation
import RunnerAgent
import Testing

/// Every way a connect flow can fail has its own page, and none queues an exchange after a
/// failed check. Real broker, runner agent and fake SCM on loopback.
@Suite("Connect flow failures end to end", .serialized)
struct ConnectFailureEndToEndTests {
    /// Runs one flow that the fake SCM is set up to fail; returns the final page.
    static func failedFlow(_ kind: FakeSCM.Kind = .entra, clientSecret: String? = nil, appSecret: String? = nil, pat: Bool = true,
                           prepare: @Sendable (LiveStack) -> Void = { _ in }) async throws -> (TestBrowser.Page, [String: Any], LiveStack) {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(kind, runner: runner, clientSecret: clientSecret, appSecret: appSecret, pat: pat)
        prepare(stack)
        let agent = stack.startAgent(runner)
        let first = try await stack.beginConnect(browser, integrationID: integrationID)
        var final: [String: Any] = [:]
        var page = first
        if first.text.contains("/connect/flows/"), first.text.contains("data-url") {
            let flowURL = try stack.flowURL(in: first)
            final = try await stack.waitForFlow(browser, flowURL: flowURL)
            page = try await browser.get(flowURL)
        }
        agent.cancel()
        try await browser.shutdown()
        return (page, final, stack)
    }

    static func errorCode(_ json: [String: Any]) -> String? {
        (json["error"] as? [String: Any])?["code"] as? String
    }

    @Test func theUserDeclines() async throws {
        let (page, _, stack) = try await Self.failedFlow { $0.fake.failNextAuthorize(error: "access_denied", description: "The user declined.") }
        #expect(page.status == 200)
        #expect(page.text.contains("You declined access"))
        #expect(page.text.contains("Try again"))
        #expect(stack.fake.stats.codeRedemptions == 0 && stack.fake.stats.tokenFailures == 0, "no token request after a decline")
        try await stack.stop()
    }

    @Test(arguments: ["invalid_scope", "unauthorized_client"])
    func theSCMRefusesTheApp(_ error: String) async throws {
        let (page, _, stack) = try await Self.failedFlow { $0.fake.failNextAuthorize(error: error, description: "AADSTS65001: not allowed") }
        #expect(page.text.contains("Your organization may not allow this app"))
        #expect(page.text.contains("Use a personal access token instead"))
        #expect(stack.fake.stats.codeRedemptions == 0)
        try await stack.stop()
    }

    @Test func theRefusalPageOffersNoPATRouteWhenPATsAreOff() async throws {
        let (page, _, stack) = try await Self.failedFlow(pat: false) { $0.fake.failNextAuthorize(error: "unauthorized_client") }
        #expect(page.text.contains("Your organization may not allow this app"))
        #expect(!page.text.contains("personal access token"))
        try await stack.stop()
    }

    @Test(arguments: [FakeSCM.Kind.legacy, .entra])
    func theAzureDevOpsOrganizationBlocksThirdPartyOAuth(_ kind: FakeSCM.Kind) async throws {
        let (page, final, stack) = try await Self.failedFlow(kind) { $0.fake.blockThirdPartyOAuth(organization: "contoso") }
        #expect(Self.errorCode(final) == "oauth_app_blocked", "\(final)")
        #expect(page.text.contains("Your organization may not allow this app"))
        #expect(page.text.contains("Third-party application access via OAuth"))
        #expect(try await stack.connections().isEmpty)
        try await stack.stop()
    }

    @Test func theSCMRejectsAnExpiredCode() async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        // The runner is slow to pick up the exchange: the code expires at the SCM meanwhile.
        stack.fake.advanceClock(by: 11 * 60)
        let agent = stack.startAgent(runner)
        let flowURL = try stack.flowURL(in: page)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(Self.errorCode(final) == "invalid_grant", "\(final)")
        let failed = try await browser.get(flowURL)
        #expect(failed.text.contains("GitLab is not connected"))
        #expect(failed.text.contains("invalid_grant"))
        #expect(failed.text.contains("authorization grant is invalid"), "the SCM's reason, in its words")
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func aWrongClientSecretIsExplained() async throws {
        let (page, final, stack) = try await Self.failedFlow(.entra, clientSecret: "not-the-registered-secret")
        #expect(Self.errorCode(final) == "invalid_client", "\(final)")
        #expect(page.text.contains("Azure DevOps is not connected"))
        #expect(page.text.contains("AADSTS7000215") || page.text.contains("client secret"))
        #expect(!page.text.contains("not-the-registered-secret"))
        try await stack.stop()
    }

    @Test func anAzureDevOpsAppSecretPastedInsteadOfTheClientSecretIsNamed() async throws {
        let (page, final, stack) = try await Self.failedFlow(.legacy, clientSecret: "the-app-secret", appSecret: "the-app-secret")
        #expect(Self.errorCode(final) == "invalid_client", "\(final)")
        #expect(page.text.contains("App Secret"))
        #expect(page.text.contains("Client Secret"))
        #expect(!page.text.contains("the-app-secret"))
        try await stack.stop()
    }

    @Test func theRunnerSendsTheClientSecretOnlyWhereItWasSealedToGo() async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.github, runner: runner)
        let page = try await stack.beginConnect(browser, integrationID: integrationID)

        // Before the runner picks up the exchange, someone with write access to the database
        // points the integration's OAuth service elsewhere (the API refuses that without the
        // secret): the runner refuses the job and sends nothing anywhere.
        let store = stack.broker.store
        let integration = try #require(try await store.integration(id: integrationID))
        var changed = integration
        changed.oauth?.authority = stack.fake.authority(.gitlab)
        changed.updatedAt = integration.updatedAt.addingTimeInterval(1)
        try await store.updateIntegration(changed, expectedUpdatedAt: integration.updatedAt)

        let agent = stack.startAgent(runner)
        let flowURL = try stack.flowURL(in: page)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(Self.errorCode(final) == "endpoint_mismatch", "\(final)")
        #expect(try await browser.get(flowURL).text.contains("enter the client secret again"))
        #expect(stack.fake.stats.codeRedemptions == 0 && stack.fake.stats.tokenFailures == 0, "no token request left the runner")
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func anOfflineRunnerIsShownThenTheFlowIsRetried() async throws {
        let stack = try await LiveStack.start(runnerOfflineTimeout: 1)
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.github, runner: runner)
        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        #expect(page.text.contains("Waiting for runner eu-1"))
        let flowURL = try stack.flowURL(in: page)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(Self.errorCode(final) == "runner_offline")
        let offline = try await browser.get(flowURL)
        #expect(offline.text.contains("Runner eu-1 is offline"))
        #expect(offline.text.contains("Retry"))
        #expect(offline.text.contains("Use a personal access token instead"))

        // The runner comes back; the user presses Retry (a form post) and lands on the flow page.
        let agent = stack.startAgent(runner)
        let retried = try await browser.post(flowURL + "/retry")
        #expect(retried.url == flowURL)
        let connected = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(connected["status"] as? String == "connected", "\(connected)")
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }
}

/// The runner agent survives a broker restart, a crash while holding a job, and repeated reports.
@Suite("Runner agent robustness", .serialized)
struct RunnerRobustnessTests {
    @Test func theAgentReconnectsAfterTheBrokerRestartsMidPoll() async throws {
        let stack = try await LiveStack.start()
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.entra, runner: runner)
        let agent = stack.startAgent(runner, pollWait: 20)
        try await Task.sleep(for: .milliseconds(500))   // the agent's poll is now held open

        await stack.stopBroker()
        // Down long enough for the agent's next polls to be refused: a graceful shutdown answers
        // the held poll at once, and the agent polls again right away.
        try await Task.sleep(for: .milliseconds(1500))
        try await stack.startBroker()

        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        let final = try await stack.waitForFlow(browser, flowURL: try stack.flowURL(in: page))
        #expect(final["status"] as? String == "connected", "\(final)")
        #expect(stack.runnerLog.text.contains("cannot poll the broker; retrying"))
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func aJobHeldByACrashedRunnerIsLeasedAgainAndCompletes() async throws {
        let stack = try await LiveStack.start(jobLease: 2)
        let browser = TestBrowser()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.bitbucket, runner: runner)
        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        let flowURL = try stack.flowURL(in: page)

        // A runner process takes the job and dies before doing it.
        let doomed = BrokerClient(brokerURL: stack.publicURL)
        let token = try await doomed.accessToken(runnerID: runner.id, keys: runner.keys)
        let held = try await doomed.pollJobs(accessToken: token, wait: 0, max: 4)
        #expect(held.count == 1)
        #expect(held.first?.attempt == 1)
        #expect(try await doomed.pollJobs(accessToken: token, wait: 0, max: 4).isEmpty, "leased, so not handed out again")

        let agent = stack.startAgent(runner)
        let final = try await stack.waitForFlow(browser, flowURL: flowURL)
        #expect(final["status"] as? String == "connected", "\(final)")
        #expect(stack.runnerLog.text.contains("job.attempt=2") || stack.runnerLog.text.contains("\"job.attempt\": 2"))
        #expect(stack.fake.stats.codeRedemptions == 1)

        // The crashed process's late report changes nothing.
        let jobID = try #require(held.first?.id)
        let verdict = try await doomed.postResult(.failed(ReportedFailure(code: "invalid_grant", message: "late")), jobID: jobID,
                                                  accessToken: token)
        #expect(verdict == .duplicate)
        let after = try await browser.get(flowURL, accept: "application/json").json
        #expect(after["status"] as? String == "connected")
        #expect(try await stack.connections().count == 1)
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }
}
