import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird
import Testing

/// The environment API and the runner's clone-credential and refresh endpoints, through the
/// router: validation, every refusal code, and that refusals write nothing but their audit event.
@Suite("Environments: API, grants and refusals")
struct EnvironmentRouterTests {
    typealias Flow = ConnectFlowRouterTests

    /// A runner with an Entra integration for https://dev.azure.com/contoso and alice connected.
    static func connected(_ api: APIClient) async throws -> Flow.Setup {
        let setup = try await Flow.setUp(api)
        let (query, cookie, _) = try await Flow.start(api, setup)
        _ = try await Flow.callback(api, setup, query: "code=c&state=\(query["state"]!)", cookie: cookie)
        let job = try #require(try await Flow.poll(api, setup).first)
        let credentials = try JWE.seal(#"{"access_token":"planted-access-token","scopes":[],"obtained_at":0}"#,
                                       to: setup.runner.keys.encryption.publicKey)
        let result = #"{"outcome":"connected","connection":{"credentials":"\#(credentials)","scm_user":{"id":"u-1","username":"alice"},"scopes":[]}}"#
        let accepted = try await api.request(.post, "/runner/v1/jobs/\(try #require(job["id"] as? String))/result", bearer: setup.runnerToken, body: result)
        #expect(accepted.string("status") == "accepted", "\(accepted.text)")
        return setup
    }

    static func create(_ api: APIClient, _ setup: Flow.Setup, _ body: String) async throws -> APIResponse {
        try await api.request(.post, "/api/v1/environments", bearer: setup.serviceToken, body: body)
    }

    static func body(runner: String, user: String = "alice", repository: String = "https://dev.azure.com/contoso/web/_git/portal",
                     access: String = "read", extra: String = "") -> String {
        #"{"runner":"\#(runner)","user":"\#(user)","repository_url":"\#(repository)","access":"\#(access)"\#(extra)}"#
    }

    @Test func invalidRequestsAreRefusedAndWriteNothing() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            let runner = setup.runner.id
            let cases: [String] = [
                "[]", "{}", #"{"runner":"\#(runner)"}"#,
                Self.body(runner: runner, access: "admin"),
                Self.body(runner: runner, user: "al ice"),
                Self.body(runner: runner, repository: "not a url"),
                Self.body(runner: runner, repository: "https://dev.azure.com/contoso/web"),
                Self.body(runner: runner, extra: #","ttl_seconds":59"#),
                Self.body(runner: runner, extra: #","ttl_seconds":604801"#),
                Self.body(runner: runner, extra: #","ttl_seconds":1.5"#),
                Self.body(runner: runner, extra: #","ttl_seconds":"3600""#),
                Self.body(runner: runner, extra: #","scope":"everything""#),
                #"{"runner":"\#(runner)","user":"alice","repository_url":"https://dev.azure.com/contoso/web/_git/portal","access":true}"#,
            ]
            for body in cases {
                let response = try await Self.create(api, setup, body)
                #expect(response.status == .badRequest, "\(body) → \(response.text)")
                #expect(response.errorCode == "invalid_request", "\(body)")
            }
            #expect(try await Self.create(api, setup, Self.body(runner: "no-such-runner")).errorCode == "not_found")
            #expect(try await broker.store.auditEvents(AuditQuery()).isEmpty)
            // Runners and anonymous callers cannot create environments.
            #expect(try await api.request(.post, "/api/v1/environments", bearer: setup.runnerToken, body: Self.body(runner: runner)).status == .unauthorized)
            #expect(try await api.request(.post, "/api/v1/environments", bearer: nil, body: Self.body(runner: runner)).status == .unauthorized)
        }
    }

    @Test func repositoriesAreMatchedToTheMostSpecificIntegration() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            let runner = setup.runner.id
            let noIntegration = try await Self.create(api, setup, Self.body(runner: runner, repository: "https://dev.azure.com/fabrikam/web/_git/portal"))
            #expect(noIntegration.status == .notFound)
            #expect(noIntegration.errorCode == "no_integration")
            let github = try await Self.create(api, setup, Self.body(runner: runner, repository: "https://github.com/contoso/app"))
            #expect(github.errorCode == "no_integration")

            // Two integrations for github.com/contoso: ambiguous; a third for the whole host loses to them.
            for (name, url) in [("gh-a", "https://github.com/contoso"), ("gh-b", "https://github.com/contoso/"), ("gh-host", "https://github.com")] {
                let created = try await api.createIntegration(runnerID: runner, #"{"name":"\#(name)","provider":"github","url":"\#(url)","pat":{"enabled":true}}"#)
                #expect(created.status == .created, "\(created.text)")
            }
            let ambiguous = try await Self.create(api, setup, Self.body(runner: runner, repository: "git@github.com:contoso/app.git"))
            #expect(ambiguous.status == .conflict)
            #expect(ambiguous.errorCode == "ambiguous_integration")
            #expect(ambiguous.errorMessage?.contains("gh-a, gh-b") == true)
            // Another owner on github.com: only the host-wide integration matches; bob has no connection there.
            let hostWide = try await Self.create(api, setup, Self.body(runner: runner, user: "bob", repository: "https://github.com/octo/app"))
            #expect(hostWide.errorCode == "scm_authorization_required", "\(hostWide.text)")
            #expect((hostWide["error"] as? [String: Any])?["pat_url"] as? String != nil)
            #expect((hostWide["error"] as? [String: Any])?["oauth_url"] == nil, "the PAT-only integration has no OAuth link")

            // A refused URL is kept in the audit log without anything before an `@` (it may be a token).
            let tokenInURL = try await Self.create(api, setup, Self.body(runner: runner, repository: "ghp_secretvalue@gitlab.com:contoso/app.git"))
            #expect(tokenInURL.errorCode == "no_integration")
            let events = try await broker.store.auditEvents(AuditQuery(runnerID: runner))
            #expect(events.map(\.reason) == ["no_integration", "no_integration", "ambiguous_integration", "scm_authorization_required", "no_integration"])
            #expect(events.last?.repositoryURL == "gitlab.com:contoso/app.git")
            #expect(!String(decoding: try await broker.databaseBytes(), as: UTF8.self).contains("ghp_secretvalue"))
            #expect(events.allSatisfy { $0.action == .environmentRefused && $0.outcome == .refused })
        }
    }

    @Test func anEnvironmentIsCreatedShownAndRevoked() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            let created = try await Self.create(api, setup, Self.body(runner: setup.runner.id, repository: "https://contoso@dev.azure.com/contoso/Web/_git/Portal%20App",
                                                                      access: "write", extra: #","ttl_seconds":120"#))
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.string("id"))
            #expect(created.string("repository_url") == "https://dev.azure.com/contoso/web/_git/portal%20app")
            #expect(created.string("access") == "write")
            #expect(created.string("credential_mode") == "user")
            #expect(created.string("status") == "active")
            #expect(created.string("expires_at") == ISO8601DateFormatter().string(from: broker.clock.now.addingTimeInterval(120)))

            #expect(try await api.request(.get, "/api/v1/environments/\(id)", bearer: setup.serviceToken).string("status") == "active")
            #expect(try await api.request(.delete, "/api/v1/environments/\(id)", bearer: setup.serviceToken).status == .noContent)
            #expect(try await api.request(.delete, "/api/v1/environments/\(id)", bearer: setup.serviceToken).status == .noContent)
            #expect(try await api.request(.get, "/api/v1/environments/\(id)", bearer: setup.serviceToken).string("status") == "revoked")
            #expect(try await api.request(.delete, "/api/v1/environments/nope", bearer: setup.serviceToken).errorCode == "not_found")
            let actions = try await broker.store.auditEvents(AuditQuery()).map(\.action)
            #expect(actions == [.environmentCreated, .environmentRevoked], "a second revocation is not a new event")
        }
    }

    @Test func theCloneCredentialIsForTheOwningRunnerAndAnActiveGrantOnly() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            let other = try await api.registeredRunner("eu-2")
            let otherToken = try await api.runnerAccessToken(other)
            let created = try await Self.create(api, setup, Self.body(runner: setup.runner.id, extra: #","ttl_seconds":60"#))
            let id = try #require(created.string("id"))
            let path = "/runner/v1/environments/\(id)/clone-credential"

            let issued = try await api.request(.post, path, bearer: setup.runnerToken, body: "{}")
            #expect(issued.status == .ok, "\(issued.text)")
            let credential = try #require(issued["credential"] as? [String: Any])
            #expect(credential["kind"] as? String == "oauth")
            #expect(credential["version"] as? Int == 1)
            let sealed = try #require(credential["sealed"] as? String)
            #expect(try JWE.openString(sealed, with: setup.runner.keys.encryption).contains("planted-access-token"))
            #expect((issued["environment"] as? [String: Any])?["clone_url"] as? String == "https://dev.azure.com/contoso/web/_git/portal")
            #expect((issued["integration"] as? [String: Any])?["oauth"] != nil)
            #expect(!issued.text.contains("planted-access-token"))

            let foreign = try await api.request(.post, path, bearer: otherToken, body: "{}")
            #expect(foreign.status == .notFound)
            #expect(foreign.errorCode == "environment_not_found")
            #expect(try await api.request(.get, "/runner/v1/environments/\(id)", bearer: otherToken).errorCode == "environment_not_found")
            #expect(try await api.request(.post, "/runner/v1/environments/made-up/clone-credential", bearer: setup.runnerToken, body: "{}")
                .errorCode == "environment_not_found")
            #expect(try await api.request(.post, path, bearer: setup.serviceToken, body: "{}").status == .unauthorized)

            broker.clock.advance(by: 61)
            let expired = try await api.request(.post, path, bearer: setup.runnerToken, body: "{}")
            #expect(expired.status == .forbidden)
            #expect(expired.errorCode == "grant_expired")

            let second = try #require(try await Self.create(api, setup, Self.body(runner: setup.runner.id)).string("id"))
            _ = try await api.request(.delete, "/api/v1/environments/\(second)", bearer: setup.serviceToken)
            #expect(try await api.request(.post, "/runner/v1/environments/\(second)/clone-credential", bearer: setup.runnerToken, body: "{}")
                .errorCode == "grant_revoked")

            let reasons = try await broker.store.auditEvents(AuditQuery()).filter { $0.action == .credentialRefused }.map(\.reason)
            #expect(reasons == ["environment_not_found", "environment_not_found", "grant_expired", "grant_revoked"])
            let foreignEvent = try await broker.store.auditEvents(AuditQuery(runnerID: other.id)).first
            #expect(foreignEvent?.environmentID == id, "a refused runner is recorded with what it asked for")
        }
    }

    @Test func refreshLeasesAndResultsAreValidated() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            let id = try #require(try await Self.create(api, setup, Self.body(runner: setup.runner.id)).string("id"))
            let connection = try #require(try await broker.store.connections(user: "alice").first)
            let refresh = "/runner/v1/connections/\(connection.id)/refresh"
            let result = "/runner/v1/connections/\(connection.id)/refresh-result"

            for body in ["{}", #"{"version":1}"#, #"{"version":0,"environment":"\#(id)"}"#, #"{"version":"1","environment":"\#(id)"}"#] {
                #expect(try await api.request(.post, refresh, bearer: setup.runnerToken, body: body).errorCode == "invalid_request", "\(body)")
            }
            let acquired = try await api.request(.post, refresh, bearer: setup.runnerToken, body: #"{"version":1,"environment":"\#(id)"}"#)
            #expect(acquired.string("status") == "acquired", "\(acquired.text)")
            let lease = try #require(acquired.string("lease"))
            let held = try await api.request(.post, refresh, bearer: setup.runnerToken, body: #"{"version":1,"environment":"\#(id)"}"#)
            #expect(held.string("status") == "held")

            // Results: sealed to this runner's key, a known outcome, a clean error code.
            let foreignSeal = try JWE.seal("{}", to: try Fixtures.runnerKeys().encryption.publicKey)
            let invalid = [
                #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"refreshed","credentials":"\#(foreignSeal)"}"#,
                #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"refreshed","credentials":"plain-token"}"#,
                #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"maybe"}"#,
                #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"failed","error":{"code":"Invalid Grant"}}"#,
                #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"failed","error":{"code":"invalid_grant","permanent":"yes"}}"#,
            ]
            for body in invalid {
                #expect(try await api.request(.post, result, bearer: setup.runnerToken, body: body).errorCode == "invalid_request", "\(body)")
            }
            #expect(try await api.request(.post, result, bearer: setup.runnerToken,
                                          body: #"{"lease":"not-mine","environment":"\#(id)","outcome":"failed","error":{"code":"x","permanent":false}}"#)
                .errorCode == "lease_lost")
            let sealed = try JWE.seal(#"{"access_token":"refreshed"}"#, to: setup.runner.keys.encryption.publicKey)
            let stored = try await api.request(.post, result, bearer: setup.runnerToken,
                                               body: #"{"lease":"\#(lease)","environment":"\#(id)","outcome":"refreshed","credentials":"\#(sealed)","scopes":["vso.code"],"expires_at":"2030-01-01T00:00:00Z"}"#)
            #expect(stored["version"] as? Int == 2, "\(stored.text)")
            let stale = try await api.request(.post, refresh, bearer: setup.runnerToken, body: #"{"version":1,"environment":"\#(id)"}"#)
            #expect(stale.string("status") == "current")
            #expect((stale["credential"] as? [String: Any])?["sealed"] as? String == sealed)
            // A connection that is not the environment's (another user's) is not found either.
            let bobs = Connection(id: "bob-connection", user: "bob", integrationID: connection.integrationID, runnerID: setup.runner.id,
                                  kind: .pat, scmUser: SCMUser(id: "b", username: "bob", displayName: nil), credentials: connection.credentials,
                                  scopes: [], expiresAt: nil, createdAt: broker.clock.now, updatedAt: broker.clock.now)
            let job = Job(id: "bob-job", runnerID: setup.runner.id, kind: .credentialValidation, integrationID: connection.integrationID,
                          payload: #"{"user":"bob"}"#, createdAt: broker.clock.now)
            try await broker.store.enqueueJob(job)
            _ = try await broker.store.leaseJobs(runnerID: setup.runner.id, limit: 10, leaseDuration: 60, now: broker.clock.now)
            _ = try await broker.store.completeJob(id: job.id, runnerID: setup.runner.id, outcome: .connected(bobs), now: broker.clock.now)
            #expect(try await api.request(.post, "/runner/v1/connections/bob-connection/refresh", bearer: setup.runnerToken,
                                          body: #"{"version":1,"environment":"\#(id)"}"#).errorCode == "connection_not_found")
            // Another runner's connection is not found.
            let other = try await api.registeredRunner("eu-2")
            #expect(try await api.request(.post, refresh, bearer: try await api.runnerAccessToken(other), body: #"{"version":2,"environment":"\#(id)"}"#)
                .errorCode == "environment_not_found")
        }
    }

    @Test func theAuditLogIsForAdminsAndItsQueryIsValidated() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Self.connected(api)
            _ = try await Self.create(api, setup, Self.body(runner: setup.runner.id))
            _ = try await Self.create(api, setup, Self.body(runner: setup.runner.id, user: "bob"))
            let all = try await api.admin(.get, "/api/v1/audit")
            #expect((all["events"] as? [[String: Any]])?.count == 2, "\(all.text)")
            let alice = try await api.admin(.get, "/api/v1/audit?user=alice&runner=\(setup.runner.id)&since=0")
            let events = try #require(alice["events"] as? [[String: Any]])
            #expect(events.count == 1)
            #expect(events.first?["action"] as? String == "environment.created")
            #expect(events.first?["repository_url"] as? String == "https://dev.azure.com/contoso/web/_git/portal")
            #expect(events.first?["access"] as? String == "read")
            let page = try await api.admin(.get, "/api/v1/audit?limit=1")
            #expect((page["events"] as? [[String: Any]])?.count == 1)
            let next = try #require(page["next_after"] as? Int)
            #expect((try await api.admin(.get, "/api/v1/audit?after=\(next)")["events"] as? [[String: Any]])?.first?["user"] as? String == "bob")
            let future = ISO8601DateFormatter().string(from: broker.clock.now.addingTimeInterval(60))
            #expect((try await api.admin(.get, "/api/v1/audit?since=\(future)")["events"] as? [[String: Any]])?.isEmpty == true)
            for query in ["since=yesterday", "limit=0", "limit=1001", "after=-1", "user=a%20b", "colour=red"] {
                #expect(try await api.admin(.get, "/api/v1/audit?\(query)").errorCode == "invalid_request", "\(query)")
            }
            #expect(try await api.request(.get, "/api/v1/audit", bearer: setup.serviceToken).status == .unauthorized)
            #expect(try await api.request(.get, "/api/v1/audit", bearer: setup.runnerToken).status == .unauthorized)
        }
    }
}
