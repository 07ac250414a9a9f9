import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird

/// The runner's side of environments: reading a grant, getting the sealed credential an
/// environment's clone needs, and refreshing OAuth tokens one process at a time.
struct RunnerEnvironmentsController {
    let store: any Store
    let clock: BrokerClock
    let publicURL: String

    func addRoutes(to group: RouterGroup<RunnerContext>) {
        group.get("environments/{id}", use: show)
        group.post("environments/{id}/clone-credential", use: cloneCredential)
        group.post("environments/{id}/refusals", use: recordRefusal)
        group.post("connections/{id}/refresh", use: refresh)
        group.post("connections/{id}/refresh-result", use: refreshResult)
    }

    /// What the runner gets for an environment: the grant, the integration (secrets sealed) and
    /// the credential to clone with (sealed to the runner; none for GitHub Apps, whose key is
    /// in the integration).
    struct CloneCredential: Encodable {
        struct Credential: Encodable {
            var kind: String
            var connectionId: String?
            var version: Int?
            var sealed: String?
            var expiresAt: Date?
            var username: String?
            var organizationCredentialId: String?
        }

        var environment: EnvironmentRepresentation
        var integration: RunnerIntegrationRepresentation
        var credential: Credential
    }

    @Sendable func show(_ request: Request, context: RunnerContext) async throws -> JSONResponse<EnvironmentRepresentation> {
        let grant = try await ownGrant(context)
        return JSONResponse(EnvironmentRepresentation(grant, now: clock.now))
    }

    @Sendable func cloneCredential(_ request: Request, context: RunnerContext) async throws -> JSONResponse<CloneCredential> {
        let id = try context.parameters.require("id")
        let now = clock.now
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            // Another runner's environment is as unknown as a made-up one.
            try await store.appendAudit(AuditEvent(time: now, action: .credentialRefused, outcome: .refused, runnerID: context.runnerID,
                                                   environmentID: Self.bounded(id), reason: "environment_not_found"))
            throw APIError(.notFound, code: "environment_not_found", "no such environment for this runner")
        }
        let refuse = { (code: String, status: HTTPResponse.Status, message: String) async throws -> APIError in
            try await store.appendAudit(.about(grant, action: .credentialRefused, outcome: .refused, time: now, reason: code))
            return APIError(status, code: code, message)
        }
        switch grant.status(at: now) {
        case .revoked: throw try await refuse("grant_revoked", .forbidden, "the environment's clone grant was revoked")
        case .expired: throw try await refuse("grant_expired", .forbidden, "the environment's clone grant expired")
        case .active: break
        }
        guard let integration = try await store.integration(id: grant.integrationID) else {
            throw try await refuse("no_integration", .notFound, "the environment's integration was deleted")
        }
        var credential: CloneCredential.Credential
        var connectionID: String?
        switch grant.credentialMode {
        case .user:
            guard let connection = try await store.connections(user: grant.user).first(where: { $0.integrationID == integration.id }) else {
                throw try await refuse("scm_authorization_required", .conflict, "\(grant.user) has no connection for the integration any more")
            }
            guard connection.status == .active else {
                throw try await refuse("needs_reconnect", .conflict,
                                       "\(grant.user) must connect again: \(connection.statusReason ?? "the SCM refused the credentials")")
            }
            connectionID = connection.id
            credential = .init(kind: connection.kind.rawValue, connectionId: connection.id, version: connection.version,
                               sealed: connection.credentials.jwe, expiresAt: connection.expiresAt)
        case .organization:
            guard let picked = try await store.pickOrganizationCredential(integrationID: integration.id, now: now) else {
                throw try await refuse("organization_credentials_exhausted", .serviceUnavailable,
                                       "every organization credential is rate limited (or none is left); try again later")
            }
            credential = .init(kind: "organization", sealed: picked.credentials.jwe, username: picked.username,
                               organizationCredentialId: picked.id)
        case .githubApp:
            guard integration.githubApp != nil else {
                throw try await refuse("no_github_app", .conflict, "the integration's GitHub App was removed")
            }
            credential = .init(kind: "github_app")
        }
        try await store.appendAudit(.about(grant, action: .credentialIssued, outcome: .success, time: now, connectionID: connectionID))
        context.logger.info("clone credential issued", metadata: ["environment.id": "\(grant.id)", "credential.kind": "\(credential.kind)"])
        return JSONResponse(CloneCredential(environment: EnvironmentRepresentation(grant, now: now),
                                            integration: RunnerIntegrationRepresentation(integration, publicURL: publicURL),
                                            credential: credential))
    }

    /// `POST /runner/v1/environments/{id}/refusals` `{"reason","requested"}`: the runner refused
    /// an environment's git request (another repository, no path); recorded in the audit log.
    @Sendable func recordRefusal(_ request: Request, context: RunnerContext) async throws -> JSONResponse<[String: String]> {
        let grant = try await ownGrant(context)
        let body = try await request.jsonObject()
        try body.allowOnly(["reason", "requested"])
        let reason = try body.code("reason")
        let requested = try body.string("requested").map { EnvironmentsController.loggable($0) }
        try await store.appendAudit(.about(grant, action: .credentialRefused, outcome: .refused, time: clock.now,
                                           reason: requested.map { "\(reason) (asked for \($0))" } ?? reason))
        return JSONResponse(["status": "recorded"], status: .created)
    }

    // MARK: Refresh

    struct RefreshAnswer: Encodable {
        /// `acquired` (this caller refreshes, with `lease`), `held` (another process is
        /// refreshing: ask again after `retry_after_ms`), or `current` (a newer version exists:
        /// `credential` carries it).
        var status: String
        var lease: String?
        var leaseExpiresAt: Date?
        var retryAfterMs: Int?
        var credential: CloneCredential.Credential?
    }

    /// `POST /runner/v1/connections/{id}/refresh` `{"version": n, "environment": id}`: asks for the
    /// right to refresh version `n` of the connection's token.
    @Sendable func refresh(_ request: Request, context: RunnerContext) async throws -> JSONResponse<RefreshAnswer> {
        let id = try context.parameters.require("id")
        let body = try await request.jsonObject()
        try body.allowOnly(["version", "environment"])
        guard let version = try body.integer("version", in: 1...Int(Int32.max)) else { throw APIError.invalidRequest("missing field `version`") }
        let grant = try await usableGrant(try body.requiredString("environment"), context: context)
        let connection = try await connectionOfGrant(id, grant: grant, context: context)
        let now = clock.now
        let lease = IssuedToken.make(prefix: "rl_").token
        switch try await store.acquireRefreshLease(connectionID: id, runnerID: context.runnerID, version: version, leaseID: lease,
                                                   duration: Connection.refreshLeaseDuration, now: now) {
        case .acquired(let expiresAt):
            return JSONResponse(RefreshAnswer(status: "acquired", lease: lease, leaseExpiresAt: expiresAt))
        case .held:
            return JSONResponse(RefreshAnswer(status: "held", retryAfterMs: 200))
        case .versionChanged:
            let connection = try await store.connection(id: id) ?? connection
            return JSONResponse(RefreshAnswer(status: "current", credential: .init(
                kind: connection.kind.rawValue, connectionId: connection.id, version: connection.version,
                sealed: connection.credentials.jwe, expiresAt: connection.expiresAt)))
        case .needsReconnect(let reason):
            throw APIError(.conflict, code: "needs_reconnect", "the user must connect again: \(reason ?? "the SCM refused the refresh token")")
        case .notFound:
            throw APIError(.notFound, code: "connection_not_found", "no such connection for this runner")
        }
    }

    struct RefreshResultAnswer: Encodable {
        var version: Int
    }

    /// `POST /runner/v1/connections/{id}/refresh-result`: the lease holder reports new sealed
    /// credentials (stored before the runner uses them) or why the SCM refused.
    @Sendable func refreshResult(_ request: Request, context: RunnerContext) async throws -> JSONResponse<RefreshResultAnswer> {
        let id = try context.parameters.require("id")
        let body = try await request.jsonObject()
        try body.allowOnly(["lease", "environment", "outcome", "credentials", "expires_at", "scopes", "error"])
        let lease = try body.requiredString("lease")
        let grant = try await store.cloneGrant(id: try body.requiredString("environment"))
        guard let grant, grant.runnerID == context.runnerID else { throw APIError(.notFound, code: "environment_not_found", "no such environment") }
        _ = try await connectionOfGrant(id, grant: grant, context: context)
        let now = clock.now
        let outcome: RefreshOutcome
        let event: AuditEvent
        switch try body.requiredString("outcome") {
        case "refreshed":
            let credentials = try await body.sealedToRunner("credentials", runnerID: context.runnerID, store: store, now: now)
            outcome = .refreshed(credentials: credentials, expiresAt: try body.time("expires_at"), scopes: try body.scopes("scopes"))
            event = .about(grant, action: .tokenRefreshed, outcome: .success, time: now, connectionID: id)
        case "failed":
            guard let error = try body.object("error") else { throw APIError.invalidRequest("missing field `error`") }
            try error.allowOnly(["code", "message", "permanent"])
            let code = try error.code("code")
            let permanent = try error.bool("permanent") ?? false
            outcome = permanent ? .permanentFailure(reason: code) : .transientFailure(reason: code)
            event = .about(grant, action: .tokenRefreshFailed, outcome: .failed, time: now, connectionID: id,
                           reason: permanent ? code : "\(code) (transient)")
        default:
            throw APIError.invalidRequest("`outcome` must be \"refreshed\" or \"failed\"")
        }
        guard let version = try await store.completeRefresh(connectionID: id, runnerID: context.runnerID, leaseID: lease, outcome: outcome,
                                                            now: now, audit: event) else {
            throw APIError(.conflict, code: "lease_lost", "the refresh lease ran out or is not this caller's; read the credentials again")
        }
        context.logger.info("connection refresh reported", metadata: ["connection.id": "\(id)", "refresh.outcome": "\(event.action.rawValue)"])
        return JSONResponse(RefreshResultAnswer(version: version))
    }

    // MARK: Grants

    /// The connection `id` if it is the one the grant's clone uses (this runner's, the grant's
    /// user and integration): a refresh and its audit event name the environment truthfully.
    private func connectionOfGrant(_ id: String, grant: CloneGrant, context: RunnerContext) async throws -> Connection {
        guard let connection = try await store.connection(id: id), connection.runnerID == context.runnerID,
              connection.user == grant.user, connection.integrationID == grant.integrationID
        else { throw APIError(.notFound, code: "connection_not_found", "no such connection for this environment") }
        return connection
    }

    private func ownGrant(_ context: RunnerContext) async throws -> CloneGrant {
        let id = try context.parameters.require("id")
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            throw APIError(.notFound, code: "environment_not_found", "no such environment for this runner")
        }
        return grant
    }

    /// The runner's own grant, active.
    private func usableGrant(_ id: String, context: RunnerContext) async throws -> CloneGrant {
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            throw APIError(.notFound, code: "environment_not_found", "no such environment for this runner")
        }
        switch grant.status(at: clock.now) {
        case .revoked: throw APIError(.forbidden, code: "grant_revoked", "the environment's clone grant was revoked")
        case .expired: throw APIError(.forbidden, code: "grant_expired", "the environment's clone grant expired")
        case .active: return grant
        }
    }

    static func bounded(_ id: String) -> String {
        String(id.unicodeScalars.filter { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }.prefix(64).map(Character.init))
    }
}
