import BrokerCore
import BrokerCrypto
import FakeSCM
import Foundation
import RunnerAgent
import Testing

/// Environments from creation to a real `git clone` through `scm-runner credential-helper`,
/// the runner's credential socket, the broker and the fake SCM's `git http-backend`.
@Suite("Environments end to end", .serialized)
struct EnvironmentEndToEndTests {
    @Test func anEnvironmentClonesItsRepositoryAndNothingElse() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.entra, runner: runner)
        let agent = stack.startAgent(runner)
        try stack.fake.createRepository(.azureDevOps, path: "contoso/web/portal", content: "portal readme")
        try stack.fake.createRepository(.azureDevOps, path: "contoso/web/billing", content: "billing readme")

        // Before connecting: the environment service gets fresh connect links.
        let (refusedStatus, refused) = try await stack.createEnvironment(runner: runner, repository: "https://dev.azure.com/contoso/web/_git/portal")
        #expect(refusedStatus == 409)
        let refusal = refused["error"] as? [String: Any]
        #expect(refusal?["code"] as? String == "scm_authorization_required")
        #expect((refusal?["oauth_url"] as? String)?.hasPrefix(stack.publicURL + "/connect/\(integrationID)?ticket=") == true)
        #expect(refusal?["pat_url"] as? String != nil)

        try await stack.connect(integrationID: integrationID)
        // Any documented form of the repository names it: here the SSH form.
        let (status, environment) = try await stack.createEnvironment(runner: runner, repository: "git@ssh.dev.azure.com:v3/contoso/web/portal",
                                                                      access: "read", ttl: 600)
        #expect(status == 201, "\(environment)")
        let environmentID = try #require(environment["id"] as? String)
        #expect(environment["repository_url"] as? String == "https://dev.azure.com/contoso/web/_git/portal")
        #expect(environment["clone_url"] as? String == stack.fake.baseURL + "/git/ado/contoso/web/_git/portal")
        #expect(environment["access"] as? String == "read")
        #expect(environment["credential_mode"] as? String == "user")
        #expect(environment["expires_at"] as? String != nil)

        let socket = try await stack.startCredentialSocket(runner)
        let git = try GitClient(environmentToken: try await socket.environmentToken(environmentID), socket: socket.path)
        let cloneURL = try #require(environment["clone_url"] as? String)

        let cloned = try await git.clone(cloneURL)
        #expect(cloned.status == 0, "\(cloned.output)")
        #expect((try? String(contentsOfFile: cloned.directory + "/README.md", encoding: .utf8)) == "portal readme")

        // Another repository on the same host: the helper gives nothing.
        let other = try await git.clone(stack.fake.baseURL + "/git/ado/contoso/web/_git/billing")
        #expect(other.status != 0)
        #expect(other.output.contains("repository_not_granted"), "\(other.output)")

        // Without useHttpPath git sends no path: refused too.
        let noPath = try await git.run(["-c", "credential.useHttpPath=false", "clone", "-q", cloneURL, git.home + "/no-path"])
        #expect(noPath.status != 0)
        #expect(noPath.output.contains("useHttpPath"), "\(noPath.output)")

        // A forged environment token gets nothing.
        let forged = try await GitClient(environmentToken: "eyJhbGciOiJIUzI1NiJ9.e30.forged", socket: socket.path).clone(cloneURL)
        #expect(forged.status != 0)
        #expect(forged.output.contains("invalid_environment_token"), "\(forged.output)")

        // Revoked: the same token and helper get nothing any more.
        let (deleted, _) = try await stack.apiResponse(.DELETE, "/api/v1/environments/\(environmentID)", token: stack.serviceToken)
        #expect(deleted == 204)
        let afterRevoke = try await git.clone(cloneURL)
        #expect(afterRevoke.status != 0)
        #expect(afterRevoke.output.contains("grant_revoked"), "\(afterRevoke.output)")

        // The audit log tells the story, for admins.
        let events = try await stack.auditEvents("user=alice&runner=\(runner.id)")
        let story = events.map { "\($0["action"] as? String ?? "") \($0["reason"] as? String ?? "")" }
        #expect(story.contains("environment.refused scm_authorization_required"), "\(story)")
        #expect(story.contains("environment.created "), "\(story)")
        #expect(story.contains("credential.issued "), "\(story)")
        #expect(story.contains { $0.hasPrefix("credential.refused repository_not_granted (asked for \(stack.fake.baseURL)/git/ado/contoso/web/_git/billing") }, "\(story)")
        #expect(story.contains("environment.revoked "), "\(story)")
        #expect(story.contains("credential.refused grant_revoked"), "\(story)")
        #expect(events.allSatisfy { $0["time"] as? String != nil && $0["outcome"] as? String != nil })

        // No token in the broker's database, logs, responses or audit; none in the runner's log.
        let stored = try #require(try await stack.broker.store.connections(user: "alice").first)
        let credentials = try JSONSerialization.jsonObject(with: Data(try JWE.open(stored.credentials.jwe, with: runner.keys.encryption))) as? [String: Any]
        let accessToken = try #require(credentials?["access_token"] as? String)
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(accessToken))
        #expect(!stack.broker.log.text.contains(accessToken))
        #expect(!stack.broker.responseBodies.contains(accessToken))
        #expect(!stack.runnerLog.text.contains(accessToken))

        await socket.stop()
        agent.cancel()
        try await stack.stop()
    }

    @Test func anExpiredGrantIsRefused() async throws {
        let clock = TestClock()
        let stack = try await LiveStack.start(clock: clock.brokerClock)
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.github, runner: runner)
        let agent = stack.startAgent(runner)
        try stack.fake.createRepository(.github, path: "contoso/app")
        try await stack.connect(integrationID: integrationID)
        let (status, environment) = try await stack.createEnvironment(runner: runner, repository: "https://github.com/contoso/app.git", ttl: 60)
        #expect(status == 201, "\(environment)")
        let environmentID = try #require(environment["id"] as? String)
        let socket = try await stack.startCredentialSocket(runner)
        let git = try GitClient(environmentToken: try await socket.environmentToken(environmentID), socket: socket.path)
        let cloneURL = try #require(environment["clone_url"] as? String)
        #expect(try await git.clone(cloneURL).status == 0)

        clock.advance(by: 61)
        let expired = try await git.clone(cloneURL)
        #expect(expired.status != 0)
        #expect(expired.output.contains("grant_expired"), "\(expired.output)")
        let reasons = try await stack.auditEvents("runner=\(runner.id)").compactMap { $0["reason"] as? String }
        #expect(reasons.contains("grant_expired"))

        await socket.stop()
        agent.cancel()
        try await stack.stop()
    }

    @Test func aGitHubAppTokenIsScopedToTheRepositoryAndAccess() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let appKey = try RSAPrivateKey.generate(bits: 2048)
        stack.fake.registerGitHubApp(.init(appID: "424242", publicKeyPEM: try appKey.publicKey.pem(), installationID: "777",
                                           owner: "contoso", repositories: ["app", "docs"]))
        try stack.fake.createRepository(.github, path: "contoso/app", content: "app")
        try stack.fake.createRepository(.github, path: "contoso/docs", content: "docs")
        let privateKeyPEM = try appKey.pem()
        let created = try await stack.api(.POST, "/api/v1/runners/\(runner.id)/integrations", """
            {"name":"gh-app","provider":"github","url":"https://github.com/contoso","api_url":"\(stack.fake.apiURL(.github))",
             "git_url":"\(stack.gitBase(.github))",
             "github_app":{"app_id":"424242","installation_id":"777","private_key":\(Fixtures.jsonString(privateKeyPEM))}}
            """)
        #expect(created["credential_mode"] as? String == "github_app", "\(created)")
        #expect((created["github_app"] as? [String: Any])?["private_key"] as? [String: Any] != nil)

        // No user connection is needed; each environment's token covers one repository and one access level.
        let (readStatus, readEnvironment) = try await stack.createEnvironment(runner: runner, repository: "https://github.com/contoso/app", access: "read")
        #expect(readStatus == 201, "\(readEnvironment)")
        #expect(readEnvironment["credential_mode"] as? String == "github_app")
        let socket = try await stack.startCredentialSocket(runner)
        let reader = try GitClient(environmentToken: try await socket.environmentToken(try #require(readEnvironment["id"] as? String)),
                                   socket: socket.path)
        let cloned = try await reader.clone(try #require(readEnvironment["clone_url"] as? String))
        #expect(cloned.status == 0, "\(cloned.output)")
        let push = try await reader.commitAndPush(in: cloned.directory)
        #expect(push.status != 0, "a read grant must not push")
        #expect(push.output.contains("403") || push.output.contains("denied"), "\(push.output)")

        let (writeStatus, writeEnvironment) = try await stack.createEnvironment(runner: runner, repository: "https://github.com/contoso/app", access: "write")
        #expect(writeStatus == 201)
        let writer = try GitClient(environmentToken: try await socket.environmentToken(try #require(writeEnvironment["id"] as? String)),
                                   socket: socket.path)
        let writable = try await writer.clone(try #require(writeEnvironment["clone_url"] as? String))
        #expect(writable.status == 0, "\(writable.output)")
        let pushed = try await writer.commitAndPush(in: writable.directory)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(stack.fake.installationTokensIssued >= 3)

        // The private key never shows in the database, logs or responses.
        let keyBody = privateKeyPEM.split(separator: "\n").dropFirst().first.map(String.init) ?? privateKeyPEM
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(keyBody))
        #expect(!stack.broker.log.text.contains(keyBody))
        #expect(!stack.broker.responseBodies.contains(keyBody))
        #expect(!stack.runnerLog.text.contains(keyBody))

        await socket.stop()
        try await stack.stop()
    }

    @Test func organizationCredentialsCloneForEveryUser() async throws {
        let stack = try await LiveStack.start()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.entra, runner: runner)
        let agent = stack.startAgent(runner)
        try stack.fake.createRepository(.azureDevOps, path: "contoso/web/portal", content: "portal")
        let pat = "ado-org-pat-" + UUID().uuidString
        stack.fake.addPAT(organization: "contoso", token: pat, user: FakeSCM.User.alice)
        let updated = try await stack.api(.PATCH, "/api/v1/integrations/\(integrationID)",
                                          #"{"credential_mode":"organization","organization_credentials":[{"username":"svc","token":"\#(pat)"}]}"#)
        #expect(updated["credential_mode"] as? String == "organization", "\(updated)")

        let (status, environment) = try await stack.createEnvironment(runner: runner, user: "bob", repository: "https://dev.azure.com/contoso/web/_git/portal")
        #expect(status == 201, "\(environment)")
        #expect(environment["credential_mode"] as? String == "organization")
        let socket = try await stack.startCredentialSocket(runner)
        let git = try GitClient(environmentToken: try await socket.environmentToken(try #require(environment["id"] as? String)), socket: socket.path)
        let cloned = try await git.clone(try #require(environment["clone_url"] as? String))
        #expect(cloned.status == 0, "\(cloned.output)")
        let database = String(decoding: try await stack.broker.databaseBytes(), as: UTF8.self)
        #expect(!database.contains(pat))
        #expect(!stack.runnerLog.text.contains(pat))

        await socket.stop()
        agent.cancel()
        try await stack.stop()
    }
}
