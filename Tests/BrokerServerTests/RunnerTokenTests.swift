import BrokerCrypto
import Foundation
import Testing

@Suite("Runner authentication (RFC 7523 client assertions)")
struct RunnerTokenTests {
    @Test func validAssertionGetsAShortLivedBearerToken() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let assertion = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now)
            let response = try await api.tokenRequest(assertion: assertion)
            #expect(response.status == .ok)
            #expect(response.string("token_type") == "Bearer")
            let expiresIn = try #require(response["expires_in"] as? Int)
            #expect(expiresIn > 0 && expiresIn <= 900)
            let token = try #require(response.string("access_token"))
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(try await api.request(.get, "/runner/v1/integrations", bearer: token).status == .ok)
            // Stored only as a hash; last-seen recorded.
            #expect(try await broker.store.runnerAccessToken(hash: SHA256.hex(token))?.runnerID == runner.id)
            #expect(try await broker.store.runner(id: runner.id)?.lastSeenAt != nil)

            broker.clock.advance(by: Double(expiresIn) + 1)
            #expect(try await api.request(.get, "/runner/v1/integrations", bearer: token).status == .unauthorized)
        }
    }

    @Test func replayedJTIIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let assertion = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now)
            #expect(try await api.tokenRequest(assertion: assertion).status == .ok)
            let replay = try await api.tokenRequest(assertion: assertion)
            #expect(replay.status == .unauthorized)
            #expect(replay.string("error") == "invalid_client")
            #expect(replay.string("error_description")?.contains("replayed") == true)
            // Same jti in a freshly signed assertion is a replay too.
            let sameJTI = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now, jti: "fixed")
            #expect(try await api.tokenRequest(assertion: sameJTI).status == .ok)
            let again = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now.addingTimeInterval(1), jti: "fixed")
            #expect(try await api.tokenRequest(assertion: again).status == .unauthorized)
        }
    }

    enum BadAssertion: String, CaseIterable, Sendable {
        case wrongAudience, otherBrokerPath, expired, tooLongLived, futureDated, otherKey, subjectMismatch, unknownRunner
    }

    @Test(arguments: BadAssertion.allCases)
    func badAssertionsAreRefusedWithInvalidClient(_ kind: BadAssertion) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let now = broker.clock.now
            let key = runner.keys.signing
            let assertion: String
            switch kind {
            case .wrongAudience:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now, audience: "https://elsewhere.example/runner/v1/token")
            case .otherBrokerPath:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now, audience: "http://127.0.0.1:8080/api/v1")
            case .expired:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now.addingTimeInterval(-600), expiresIn: 120)
            case .tooLongLived:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now, expiresIn: 3600)
            case .futureDated:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now, issuedAt: now.addingTimeInterval(600))
            case .otherKey:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: try Ed25519PrivateKey.generate(), now: now)
            case .subjectMismatch:
                assertion = try await Fixtures.assertion(runnerID: runner.id, key: key, now: now, subject: "someone-else")
            case .unknownRunner:
                assertion = try await Fixtures.assertion(runnerID: "no-such-runner", key: key, now: now)
            }
            let response = try await api.tokenRequest(assertion: assertion)
            #expect(response.status == .unauthorized, "\(kind)")
            #expect(response.string("error") == "invalid_client")
            #expect(!(response.string("error_description") ?? "").isEmpty)
            #expect(!response.text.contains(assertion))
        }
    }

    @Test func algorithmConfusionIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let now = broker.clock.now
            for header in [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"HS256","typ":"JWT"}"#, #"{"alg":"RS256"}"#, #"{"alg":"EdDSA","crit":["x"],"x":1}"#] {
                let forged = Fixtures.forgedJWT(header: header, runnerID: runner.id, now: now, signature: "AAAA")
                let response = try await api.tokenRequest(assertion: forged)
                #expect(response.status == .unauthorized, "\(header)")
                #expect(response.string("error") == "invalid_client")
            }
            // A pending runner cannot authenticate at all.
            let (pendingID, _) = try await api.createRunner("pending")
            let pending = try await Fixtures.assertion(runnerID: pendingID, key: runner.keys.signing, now: now)
            #expect(try await api.tokenRequest(assertion: pending).status == .unauthorized)
        }
    }

    @Test func malformedTokenRequestsGetOAuthErrors() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let runner = try await api.registeredRunner()
            let assertion = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now)
            let wrongGrant = try await api.tokenRequest(assertion: assertion, grantType: "password")
            #expect(wrongGrant.status == .badRequest)
            #expect(wrongGrant.string("error") == "unsupported_grant_type")
            let wrongType = try await api.tokenRequest(assertion: assertion, assertionType: "urn:other")
            #expect(wrongType.status == .badRequest)
            #expect(wrongType.string("error") == "invalid_request")
            let missing = try await api.request(.post, "/runner/v1/token", bearer: nil, body: "grant_type=client_credentials",
                                                contentType: "application/x-www-form-urlencoded")
            #expect(missing.status == .badRequest)
            let repeated = try await api.request(.post, "/runner/v1/token", bearer: nil,
                                                 body: "grant_type=client_credentials&grant_type=client_credentials",
                                                 contentType: "application/x-www-form-urlencoded")
            #expect(repeated.status == .badRequest)
            let garbage = try await api.tokenRequest(assertion: "not.a.jwt")
            #expect(garbage.status == .unauthorized)
            #expect(garbage.string("error") == "invalid_client")
            // The unused valid assertion still works: refusals above did not spend it.
            #expect(try await api.tokenRequest(assertion: assertion).status == .ok)
        }
    }
}
