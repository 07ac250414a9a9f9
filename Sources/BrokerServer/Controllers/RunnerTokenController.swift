import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird
import JWTKit
import Logging

/// `POST /runner/v1/token`: OAuth 2.0 client credentials with a JWT client assertion
/// (RFC 7523 §2.2), signed by the runner's registered Ed25519 key.
struct RunnerTokenController {
    static let accessTokenLifetime: TimeInterval = 15 * 60
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let store: any Store
    let clock: BrokerClock
    let tokenEndpoint: String

    func addRoutes(to group: RouterGroup<BrokerRequestContext>) {
        group.post("token", use: token)
    }

    struct TokenResponse: Encodable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
    }

    @Sendable func token(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        do {
            let form = try FormBody.parse(try await request.collectBody())
            guard form["grant_type"] == "client_credentials" else {
                throw OAuthError(.badRequest, "unsupported_grant_type", "grant_type must be client_credentials")
            }
            guard form["client_assertion_type"] == Self.assertionType else {
                throw OAuthError(.badRequest, "invalid_request", "client_assertion_type must be \(Self.assertionType)")
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
            return try JSONResponse(TokenResponse(accessToken: accessToken, expiresIn: Int(Self.accessTokenLifetime)))
                .response(from: request, context: context)
        } catch let error as OAuthError {
            context.logger.notice("runner authentication refused", metadata: ["reason": "\(error.description)"])
            return try error.response(from: request, context: context)
        } catch let error as APIError where error.status == .contentTooLarge {
            return try OAuthError(.contentTooLarge, "invalid_request", error.message).response(from: request, context: context)
        }
    }
}

/// An OAuth error response (RFC 6749 §5.2): `{"error":…,"error_description":…}`.
struct OAuthError: Error, CustomStringConvertible {
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
        try JSONResponse(["error": code, "error_description": description], status: status).response(from: request, context: context)
    }
}
