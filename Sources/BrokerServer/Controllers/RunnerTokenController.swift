import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import JWTKit
import Logging

/// `POST /runner/v1/token`: OAuth 2.0 client credentials with a JWT client assertion
/// (RFC 7523 §2.2), signed by the runner's registered Ed25519 key.
struct RunnerTokenController {
    static let accessTokenLifetime: TimeInterval = 15 * 60

    let store: any RunnerStore
    let clock: BrokerClock
    let tokenEndpoint: String

    func addRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("token", use: token)
    }

    @Sendable func token(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        do {
            let form = try FormBody.parse(try await request.collectBody())
            guard form["grant_type"] == RunnerTokenGrant.grantType else {
                throw OAuthError(.badRequest, "unsupported_grant_type", "grant_type must be \(RunnerTokenGrant.grantType)")
            }
            guard form["client_assertion_type"] == RunnerTokenGrant.assertionType else {
                throw OAuthError(.badRequest, "invalid_request", "client_assertion_type must be \(RunnerTokenGrant.assertionType)")
            }
            guard let assertion = form["client_assertion"], !assertion.isEmpty else {
                throw OAuthError(.badRequest, "invalid_request", "client_assertion is required")
            }
            let verifier = RunnerAssertionVerifier(store: store, clock: clock, audience: tokenEndpoint)
            let runnerID = try await verifier.verify(assertion)
            let now = clock.now
            try await store.touchRunner(id: runnerID, at: now)
            // Stored last: a token exists only if the response carrying it is about to be sent.
            let (accessToken, hash) = IssuedToken.make(prefix: IssuedToken.runnerAccessPrefix)
            try await store.insertRunnerAccessToken(
                .init(runnerID: runnerID, tokenHash: hash, expiresAt: now.addingTimeInterval(Self.accessTokenLifetime)), now: now)
            context.logger.info("runner authenticated", metadata: ["runner.id": "\(runnerID)"])
            return try JSONResponse(RunnerTokenResponse(accessToken: accessToken, expiresIn: Int(Self.accessTokenLifetime)))
                .response(from: request, context: context)
        } catch let error as OAuthError {
            context.logger.notice("runner authentication refused", metadata: ["reason": "\(error.description)"])
            throw error
        } catch let error as APIError where error.status == .contentTooLarge {
            // An OAuth endpoint answers in OAuth's error format, whatever went wrong.
            throw OAuthError(.contentTooLarge, "invalid_request", error.message)
        }
    }
}

/// An OAuth error response (RFC 6749 §5.2): `{"error":…,"error_description":…}`. It renders
/// itself (see `APIErrorMiddleware`); descriptions never quote what was sent.
struct OAuthError: Error, HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var code: String
    var description: String

    init(_ status: HTTPResponse.Status, _ code: String, _ description: String) {
        self.status = status
        self.code = code
        self.description = description
    }

    static func invalidClient(_ description: String) -> OAuthError { .init(.unauthorized, "invalid_client", description) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try JSONResponse(OAuthErrorBody(error: code, errorDescription: description), status: status).response(from: request, context: context)
    }
}
