import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird

/// The runner's side of environments: reading a grant, getting the sealed credential an
/// environment's clone needs, and refreshing OAuth tokens one process at a time.
struct RunnerEnvironmentsController {
    typealias Stores = EnvironmentStore & ConnectionStore & IntegrationStore & OrganizationCredentialStore & AuditLog & RunnerStore

    let store: any Stores
    let clock: BrokerClock
    let publicURL: String

    func addRoutes(to group: RouterGroup<RunnerContext>) {
        group.get("environments/{id}", use: show)
        group.post("environments/{id}/clone-credential", use: cloneCredential)
        group.post("environments/{id}/refusals", use: recordRefusal)
        group.post("connections/{id}/refresh", use: refresh)
        group.post("connections/{id}/refresh-result", use: refreshResult)
    }

    @Sendable func show(_ request: Request, context: RunnerContext) async throws -> JSONResponse<EnvironmentGrant> {
        let grant = try await ownGrant(context)
        return JSONResponse(EnvironmentGrant(grant, now: clock.now))
    }

    @Sendable func cloneCredential(_ request: Request, context: RunnerContext) async throws -> JSONResponse<CloneCredentialResponse> {
        let id = try context.parameters.require("id")
        let now = clock.now
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            // Another runner's environment is as unknown as a made-up one.
            try await store.appendAudit(AuditEvent(time: now, action: .credentialRefused, outcome: .refused, runnerID: context.runnerID,
                                                   environmentID: Self.bounded(id), reason: BrokerErrorCode.environmentNotFound.rawValue))
            throw APIError(.notFound, code: .environmentNotFound, "no such environment for this runner")
        }
        let refuse = { (code: BrokerErrorCode, status: HTTPResponse.Status, message: String) async throws -> APIError in
            try await store.appendAudit(.about(grant, action: .credentialRefused, outcome: .refused, time: now, reason: code.rawValue))
            return APIError(status, code: code, message)
        }
        switch grant.status(at: now) {
        case .revoked: throw try await refuse(.grantRevoked, .forbidden, "the environment's clone grant was revoked")
        case .expired: throw try await refuse(.grantExpired, .forbidden, "the environment's clone grant expired")
        case .active: break
        }
        guard let integration = try await store.integration(id: grant.integrationID) else {
            throw try await refuse(.noIntegration, .notFound, "the environment's integration was deleted")
        }
        let credential: SealedCloneCredential
        var connectionID: String?
        switch grant.credentialMode {
        case .user:
            guard let connection = try await store.connections(user: grant.user).first(where: { $0.integrationID == integration.id }) else {
                throw try await refuse(.scmAuthorizationRequired, .conflict, "\(grant.user) has no connection for the integration any more")
            }
            guard connection.status == .active else {
                throw try await refuse(.needsReconnect, .conflict,
                                       "\(grant.user) must connect again: \(connection.statusReason ?? "the SCM refused the credentials")")
            }
            connectionID = connection.id
            credential = SealedCloneCredential(connection)
        case .organization:
            guard let picked = try await store.pickOrganizationCredential(integrationID: integration.id, now: now) else {
                throw try await refuse(.organizationCredentialsExhausted, .serviceUnavailable,
                                       "every organization credential is rate limited (or none is left); try again later")
            }
            credential = SealedCloneCredential(kind: .organization, sealed: picked.credentials.jwe, username: picked.username,
                                               organizationCredentialID: picked.id)
        case .githubApp:
            guard integration.githubApp != nil else {
                throw try await refuse(.noGithubApp, .conflict, "the integration's GitHub App was removed")
            }
            credential = SealedCloneCredential(kind: .githubApp)
        }
        try await store.appendAudit(.about(grant, action: .credentialIssued, outcome: .success, time: now, connectionID: connectionID))
        context.logger.info("clone credential issued", metadata: ["environment.id": "\(grant.id)", "credential.kind": "\(credential.kind.rawValue)"])
        return JSONResponse(CloneCredentialResponse(environment: EnvironmentGrant(grant, now: now),
                                                    integration: RunnerIntegration(integration, publicURL: publicURL),
                                                    credential: credential))
    }

    /// `POST /runner/v1/environments/{id}/refusals` `{"reason","requested"}`: the runner refused
    /// an environment's git request (another repository, no path); recorded in the audit log.
    @Sendable func recordRefusal(_ request: Request, context: RunnerContext) async throws -> JSONResponse<RefusalReceipt> {
        let grant = try await ownGrant(context)
        let report = try await request.decode(RefusalReport.self)
        let reason = try RunnerReport.code(report.reason, field: "reason")
        let requested = report.requested.map { EnvironmentsController.loggable($0) }
        try await store.appendAudit(.about(grant, action: .credentialRefused, outcome: .refused, time: clock.now,
                                           reason: requested.map { "\(reason) (asked for \($0))" } ?? reason))
        return JSONResponse(RefusalReceipt(), status: .created)
    }

    // MARK: Refresh

    /// `POST /runner/v1/connections/{id}/refresh` `{"version": n, "environment": id}`: asks for the
    /// right to refresh version `n` of the connection's token.
    @Sendable func refresh(_ request: Request, context: RunnerContext) async throws -> JSONResponse<RefreshAnswer> {
        let id = try context.parameters.require("id")
        let asked = try await request.decode(RefreshRequest.self)
        guard (1...Int(Int32.max)).contains(asked.version) else {
            throw APIError.invalidRequest("`version` must be a whole number from 1 to \(Int32.max)")
        }
        let version = asked.version
        let grant = try await usableGrant(asked.environment, context: context)
        let connection = try await connectionOfGrant(id, grant: grant, context: context)
        let now = clock.now
        let lease = IssuedToken.make(prefix: "rl_").token
        switch try await store.acquireRefreshLease(connectionID: id, runnerID: context.runnerID, version: version, leaseID: lease,
                                                   duration: Connection.refreshLeaseDuration, now: now) {
        case .acquired(let expiresAt):
            return JSONResponse(RefreshAnswer(status: .acquired, lease: lease, leaseExpiresAt: expiresAt))
        case .held:
            return JSONResponse(RefreshAnswer(status: .held, retryAfterMs: 200))
        case .versionChanged:
            let connection = try await store.connection(id: id) ?? connection
            return JSONResponse(RefreshAnswer(status: .current, credential: SealedCloneCredential(connection)))
        case .needsReconnect(let reason):
            throw APIError(.conflict, code: .needsReconnect, "the user must connect again: \(reason ?? "the SCM refused the refresh token")")
        case .notFound:
            throw APIError(.notFound, code: .connectionNotFound, "no such connection for this runner")
        }
    }

    /// `POST /runner/v1/connections/{id}/refresh-result`: the lease holder reports new sealed
    /// credentials (stored before the runner uses them) or why the SCM refused.
    @Sendable func refreshResult(_ request: Request, context: RunnerContext) async throws -> JSONResponse<RefreshReceipt> {
        let id = try context.parameters.require("id")
        let report = try await request.decode(RefreshReport.self)
        let lease = report.lease
        let grant = try await store.cloneGrant(id: report.environment)
        guard let grant, grant.runnerID == context.runnerID else { throw APIError(.notFound, code: .environmentNotFound, "no such environment") }
        _ = try await connectionOfGrant(id, grant: grant, context: context)
        let now = clock.now
        let outcome: RefreshOutcome
        let event: AuditEvent
        switch report.outcome {
        case .refreshed(let sealed, let expiresAt, let scopes):
            let credentials = try await RunnerReport.sealedToRunner(sealed, field: "credentials", runnerID: context.runnerID, store: store, now: now)
            outcome = .refreshed(credentials: credentials, expiresAt: expiresAt, scopes: try RunnerReport.scopes(scopes, field: "scopes"))
            event = .about(grant, action: .tokenRefreshed, outcome: .success, time: now, connectionID: id)
        case .failed(let reported, let permanent):
            let code = try RunnerReport.code(reported, field: "error.code")
            outcome = permanent ? .permanentFailure(reason: code) : .transientFailure(reason: code)
            event = .about(grant, action: .tokenRefreshFailed, outcome: .failed, time: now, connectionID: id,
                           reason: permanent ? code : "\(code) (transient)")
        }
        guard let version = try await store.completeRefresh(connectionID: id, runnerID: context.runnerID, leaseID: lease, outcome: outcome,
                                                            now: now, audit: event) else {
            throw APIError(.conflict, code: .leaseLost, "the refresh lease ran out or is not this caller's; read the credentials again")
        }
        context.logger.info("connection refresh reported", metadata: ["connection.id": "\(id)", "refresh.outcome": "\(event.action.rawValue)"])
        return JSONResponse(RefreshReceipt(version: version))
    }

    // MARK: Grants

    /// The connection `id` if it is the one the grant's clone uses (this runner's, the grant's
    /// user and integration): a refresh and its audit event name the environment truthfully.
    private func connectionOfGrant(_ id: String, grant: CloneGrant, context: RunnerContext) async throws -> Connection {
        guard let connection = try await store.connection(id: id), connection.runnerID == context.runnerID,
              connection.user == grant.user, connection.integrationID == grant.integrationID
        else { throw APIError(.notFound, code: .connectionNotFound, "no such connection for this environment") }
        return connection
    }

    private func ownGrant(_ context: RunnerContext) async throws -> CloneGrant {
        let id = try context.parameters.require("id")
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            throw APIError(.notFound, code: .environmentNotFound, "no such environment for this runner")
        }
        return grant
    }

    /// The runner's own grant, active.
    private func usableGrant(_ id: String, context: RunnerContext) async throws -> CloneGrant {
        guard let grant = try await store.cloneGrant(id: id), grant.runnerID == context.runnerID else {
            throw APIError(.notFound, code: .environmentNotFound, "no such environment for this runner")
        }
        switch grant.status(at: clock.now) {
        case .revoked: throw APIError(.forbidden, code: .grantRevoked, "the environment's clone grant was revoked")
        case .expired: throw APIError(.forbidden, code: .grantExpired, "the environment's clone grant expired")
        case .active: return grant
        }
    }

    static func bounded(_ id: String) -> String {
        String(id.unicodeScalars.filter { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }.prefix(64).map(Character.init))
    }
}

extension SealedCloneCredential {
    /// A user's connection, still sealed, with its version for single-flight refresh.
    init(_ connection: Connection) {
        self.init(kind: connection.kind == .oauth ? .oauth : .pat, connectionID: connection.id, version: connection.version,
                  sealed: connection.credentials.jwe, expiresAt: connection.expiresAt)
    }
}
