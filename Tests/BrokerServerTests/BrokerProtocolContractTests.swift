import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import SCMProviders
import Testing

/// The wire contract between broker and runner, both ways, through the broker's real routes:
/// what the broker encodes the runner's decoder (`WireFormat`, as `BrokerClient` uses it) reads
/// back as the same values, and what the runner encodes (its reports, as `BrokerClient` sends
/// them) the broker's strict decoder accepts and records as sent.
@Suite("Broker ↔ runner contract")
struct BrokerProtocolContractTests {
    typealias Flow = ConnectFlowRouterTests

    static func payloads(user: String, credentials: String) -> [(JobKind, JobPayload)] {
        [
            (.oauthExchange, .exchange(ExchangePayload(code: "jwe.code", codeVerifier: "jwe.verifier",
                                                       redirectURI: "http://127.0.0.1:8080/oauth/callback/x", user: user))),
            (.oauthExchange, .exchange(ExchangePayload(code: "jwe.code", codeVerifier: nil, redirectURI: "https://broker/cb", user: user))),
            (.revokeConnection, .revocation(RevocationPayload(connectionID: "c-1", user: user, credentials: credentials))),
            (.patValidation, .credentialCheck(CredentialCheckPayload(token: "jwe.pat", user: user))),
            (.credentialValidation, .credentialCheck(CredentialCheckPayload(token: "jwe.org-pat", user: nil))),
        ]
    }

    @Test func everyJobKindReachesTheRunnerAsTheBrokerQueuedIt() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Flow.setUp(api)
            let integration = try #require(try await broker.store.integration(id: setup.integrationID))
            let queued = Self.payloads(user: "alice", credentials: "jwe.credentials")
            var ids: [String: (JobKind, JobPayload)] = [:]
            for (index, (kind, payload)) in queued.enumerated() {
                let job = Job(id: "job-\(index)", runnerID: setup.runner.id, kind: kind, integrationID: integration.id, payload: payload,
                              createdAt: broker.clock.now.addingTimeInterval(Double(index) * 0.001))
                try await broker.store.enqueueJob(job)
                ids[job.id] = (kind, payload)
            }
            let response = try await api.request(.get, "/runner/v1/jobs?wait=0&max=16", bearer: setup.runnerToken)
            #expect(response.status == .ok, "\(response.text)")
            let listing = try WireFormat.decode(JobListing.self, from: Data(response.text.utf8))
            #expect(listing.jobs.count == queued.count)
            for job in listing.jobs {
                let (kind, payload) = try #require(ids[job.id])
                #expect(job.kind == kind)
                #expect(job.payload == payload, "\(job.id)")
                #expect(job.attempt == 1)
                #expect(job.leaseExpiresAt != nil)
                // The runner's view of the integration: the sealed secret as stored, the endpoints it needs.
                #expect(job.integration.id == integration.id)
                #expect(job.integration.provider == .azureDevOps)
                #expect(job.integration.oauth?.clientSecret == integration.oauth?.clientSecret.jwe)
                #expect(job.integration.oauth?.flavor == .entra)
                #expect(job.integration.callbackURL == "http://127.0.0.1:8080/oauth/callback/\(integration.id)")
                #expect(job.integration.apiURL.hasPrefix("https://"))
                // And the runner's own encoding of it reads back the same.
                #expect(try WireFormat.decode(LeasedJob.self, from: WireFormat.encode(job)) == job)
            }
        }
    }

    @Test func aJobTheRunnerCannotReadDoesNotHideTheOthers() throws {
        let good = LeasedJob(id: "good", kind: .revokeConnection, attempt: 1, leaseExpiresAt: nil,
                             integration: RunnerIntegration(id: "i", name: "n", provider: .gitlab, url: "https://gitlab.com/g",
                                                            apiURL: "https://gitlab.com/api/v4", gitURL: nil, callbackURL: "https://b/cb",
                                                            oauth: nil, githubApp: nil, pat: .init(enabled: true)),
                             payload: .revocation(RevocationPayload(connectionID: "c", user: "u", credentials: "jwe")))
        let encoded = String(decoding: try WireFormat.encode(good), as: UTF8.self)
        let future = encoded.replacingOccurrences(of: #""id":"good""#, with: #""id":"future""#)
            .replacingOccurrences(of: #""revoke_connection""#, with: #""mint_environment_pat""#)
        let otherProvider = encoded.replacingOccurrences(of: #""id":"good""#, with: #""id":"elsewhere""#)
            .replacingOccurrences(of: #""gitlab""#, with: #""gitea""#)
        let listing = try WireFormat.decode(JobListing.self, from: Data(#"{"jobs":[\#(future),\#(encoded),\#(otherProvider),{"no":"id"}]}"#.utf8))
        #expect(listing.jobs == [good])
        #expect(listing.unreadable == ["future", "elsewhere"])
    }

    @Test func everyReportReachesTheBrokerAsTheRunnerSentIt() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Flow.setUp(api)
            let key = setup.runner.keys.encryption.publicKey
            let sealed = try JWE.seal(#"{"access_token":"contract-access-token","scopes":["vso.code"],"obtained_at":0}"#, to: key)
            let expiresAt = Date(timeIntervalSince1970: 1_900_000_000)
            let reports: [(JobKind, JobPayload, JobReport)] = [
                (.oauthExchange, .exchange(ExchangePayload(code: "jwe.code", codeVerifier: nil, redirectURI: "https://b/cb", user: "alice")),
                 .connected(SealedConnection(credentials: sealed, scmUser: ReportedSCMUser(id: "u-1", username: "alice", displayName: "Alice A."),
                                             scopes: ["vso.code", "offline_access"], expiresAt: expiresAt))),
                (.revokeConnection, .revocation(RevocationPayload(connectionID: "gone", user: "bob", credentials: "jwe.x")), .succeeded),
                (.patValidation, .credentialCheck(CredentialCheckPayload(token: "jwe.pat", user: "carol")),
                 .failed(ReportedFailure(code: "pat_expired", message: "The token expired on 2026-11-30."))),
            ]
            for (index, (kind, payload, report)) in reports.enumerated() {
                let id = "report-\(index)"
                try await broker.store.enqueueJob(Job(id: id, runnerID: setup.runner.id, kind: kind, integrationID: setup.integrationID,
                                                      payload: payload, createdAt: broker.clock.now))
                _ = try await Flow.poll(api, setup)
                let body = String(decoding: try WireFormat.encode(report), as: UTF8.self)
                let answer = try await api.request(.post, "/runner/v1/jobs/\(id)/result", bearer: setup.runnerToken, body: body)
                #expect(answer.status == .ok, "\(kind): \(answer.text)")
                #expect(try WireFormat.decode(JobReportReceipt.self, from: Data(answer.text.utf8)).status == .accepted)
                let again = try await api.request(.post, "/runner/v1/jobs/\(id)/result", bearer: setup.runnerToken, body: body)
                #expect(try WireFormat.decode(JobReportReceipt.self, from: Data(again.text.utf8)).status == .duplicate)
                #expect(try await broker.store.job(id: id)?.status == .completed)
            }
            // The connected report became alice's connection, field for field.
            let connection = try #require(try await broker.store.connections(user: "alice").first)
            #expect(connection.credentials.jwe == sealed)
            #expect(connection.credentials.keyID == key.keyID)
            #expect(connection.scmUser == SCMUser(id: "u-1", username: "alice", displayName: "Alice A."))
            #expect(connection.scopes == ["vso.code", "offline_access"])
            #expect(connection.expiresAt == expiresAt)
            #expect(connection.kind == .oauth)
        }
    }

    @Test func reportsAreDecodedStrictly() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await Flow.setUp(api)
            let cases: [(String, String)] = [
                (#"{"outcome":"succeeded","extra":1}"#, "unknown field `extra`"),
                (#"{"outcome":"done"}"#, #"`outcome` must be one of "connected", "succeeded", "failed""#),
                (#"{"outcome":"failed"}"#, "missing field `error`"),
                (#"{"outcome":"failed","error":{"code":"x","message":"m","hint":"h"}}"#, "unknown field `error.hint`"),
                (#"{"outcome":"failed","error":{"code":7,"message":"m"}}"#, "`error.code` must be a string, not a number"),
                (#"{"outcome":"connected","connection":{"credentials":"a.b.c.d.e","scm_user":{"id":"1","username":"a"},"scopes":[],"expires_at":"soon"}}"#,
                 "`connection.expires_at` must be an ISO 8601 time"),
                (#"{"outcome":"connected","connection":{"credentials":"plaintext-token","scm_user":{"id":"1","username":"a"},"scopes":[]}}"#,
                 "`connection.credentials` must be a JWE sealed to this runner's encryption key"),
                (#"{"outcome":"failed","error":{"code":"Not A Code","message":"m"}}"#, "`error.code` must be 1–64 characters of a–z and _"),
            ]
            for (index, (body, message)) in cases.enumerated() {
                let id = "strict-\(index)"
                try await broker.store.enqueueJob(Job(id: id, runnerID: setup.runner.id, kind: .oauthExchange, integrationID: setup.integrationID,
                                                      payload: .exchange(ExchangePayload(code: "c", codeVerifier: nil, redirectURI: "r", user: "alice")),
                                                      createdAt: broker.clock.now))
                let response = try await api.request(.post, "/runner/v1/jobs/\(id)/result", bearer: setup.runnerToken, body: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == "invalid_request", "\(body)")
                #expect(response.errorMessage == message, "\(body)")
                // A refused report changes nothing: the job is still the runner's to report.
                #expect(try await broker.store.job(id: id)?.status == .queued)
            }
            // Messages name the field, never the value sent.
            #expect(!broker.responseBodies.contains("plaintext-token"))
            #expect(!broker.responseBodies.contains("Not A Code"))
        }
    }

    @Test func environmentCredentialsAndRefreshTravelBothWays() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let setup = try await EnvironmentRouterTests.connected(api)
            let created = try await EnvironmentRouterTests.create(api, setup, EnvironmentRouterTests.body(runner: setup.runner.id, access: "write"))
            #expect(created.status == .created, "\(created.text)")
            let environment = try WireFormat.decode(EnvironmentGrant.self, from: Data(created.text.utf8))
            #expect(environment.access == .write)
            #expect(environment.status == .active)
            #expect(environment.credentialMode == .user)
            #expect(environment.repositoryURL == "https://dev.azure.com/contoso/web/_git/portal")

            let issued = try await api.request(.post, "/runner/v1/environments/\(environment.id)/clone-credential",
                                               bearer: setup.runnerToken, body: "{}")
            #expect(issued.status == .ok, "\(issued.text)")
            let response = try WireFormat.decode(CloneCredentialResponse.self, from: Data(issued.text.utf8))
            let connection = try #require(try await broker.store.connections(user: "alice").first)
            #expect(response.environment == environment)
            #expect(response.credential == SealedCloneCredential(kind: .oauth, connectionID: connection.id, version: 1,
                                                                 sealed: connection.credentials.jwe, expiresAt: nil))
            #expect(response.integration.id == setup.integrationID)

            // Refresh: the lease, then the new sealed credentials, each as the runner encodes them.
            let ask = String(decoding: try WireFormat.encode(RefreshRequest(version: 1, environment: environment.id)), as: UTF8.self)
            let granted = try await api.request(.post, "/runner/v1/connections/\(connection.id)/refresh", bearer: setup.runnerToken, body: ask)
            let answer = try WireFormat.decode(RefreshAnswer.self, from: Data(granted.text.utf8))
            #expect(answer.status == .acquired)
            let lease = try #require(answer.lease)
            let held = try await api.request(.post, "/runner/v1/connections/\(connection.id)/refresh", bearer: setup.runnerToken, body: ask)
            #expect(try WireFormat.decode(RefreshAnswer.self, from: Data(held.text.utf8)) == RefreshAnswer(status: .held, retryAfterMs: 200))

            let fresh = try JWE.seal(#"{"access_token":"refreshed","scopes":[],"obtained_at":0}"#, to: setup.runner.keys.encryption.publicKey)
            let expiresAt = Date(timeIntervalSince1970: 1_900_000_000)
            let report = RefreshReport(lease: lease, environment: environment.id,
                                       outcome: .refreshed(credentials: fresh, expiresAt: expiresAt, scopes: ["vso.code"]))
            let stored = try await api.request(.post, "/runner/v1/connections/\(connection.id)/refresh-result", bearer: setup.runnerToken,
                                               body: String(decoding: try WireFormat.encode(report), as: UTF8.self))
            #expect(try WireFormat.decode(RefreshReceipt.self, from: Data(stored.text.utf8)).version == 2, "\(stored.text)")
            let refreshed = try #require(try await broker.store.connection(id: connection.id))
            #expect(refreshed.credentials.jwe == fresh)
            #expect(refreshed.expiresAt == expiresAt)
            #expect(refreshed.scopes == ["vso.code"])
            // Asking for version 1 again now answers with version 2.
            let current = try await api.request(.post, "/runner/v1/connections/\(connection.id)/refresh", bearer: setup.runnerToken, body: ask)
            let newer = try WireFormat.decode(RefreshAnswer.self, from: Data(current.text.utf8))
            #expect(newer.status == .current)
            #expect(newer.credential?.version == 2)
            #expect(newer.credential?.sealed == fresh)

            // A refusal the runner reports lands in the audit log with what git asked for.
            let refusal = RefusalReport(reason: "repository_not_granted", requested: "https://dev.azure.com/contoso/web/_git/other")
            let recorded = try await api.request(.post, "/runner/v1/environments/\(environment.id)/refusals", bearer: setup.runnerToken,
                                                 body: String(decoding: try WireFormat.encode(refusal), as: UTF8.self))
            #expect(try WireFormat.decode(RefusalReceipt.self, from: Data(recorded.text.utf8)).status == "recorded")
            let events = try await broker.store.auditEvents(AuditQuery())
            #expect(events.contains { $0.reason == "repository_not_granted (asked for https://dev.azure.com/contoso/web/_git/other)" })

            // The broker's errors decode as the runner reads them.
            let missing = try await api.request(.post, "/runner/v1/environments/nope/clone-credential", bearer: setup.runnerToken, body: "{}")
            let error = try WireFormat.decode(ErrorBody.self, from: Data(missing.text.utf8))
            #expect(error.error.code == BrokerErrorCode.environmentNotFound.rawValue)
        }
    }
}
