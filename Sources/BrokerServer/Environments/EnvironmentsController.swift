import BrokerCore
import BrokerProtocol
import Foundation
import Hummingbird
import SCMProviders

/// The environment service's API: an environment is created for one user and one repository,
/// and gets a clone grant (repository, access, expiry) its runner's credential requests are
/// checked against. Every creation, refusal and revocation is audited.
struct EnvironmentsController {
    typealias Stores = EnvironmentStore & RunnerStore & IntegrationStore & ConnectionStore & OrganizationCredentialStore & AuditLog
        & ConnectFlowStore

    let store: any Stores
    let clock: BrokerClock
    let publicURL: String

    func addRoutes(to group: RouterGroup<EnvironmentServiceContext>) {
        group.post("environments", use: create)
        group.get("environments/{id}", use: show)
        group.delete("environments/{id}", use: revoke)
    }

    /// `POST /api/v1/environments`'s body.
    struct CreateRequest: Decodable {
        var runner: String
        var user: String
        var repositoryURL: String
        var access: RepositoryAccess
        var ttlSeconds: Int?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case runner, user, access
            case repositoryURL = "repository_url"
            case ttlSeconds = "ttl_seconds"
        }
    }

    @Sendable func create(_ request: Request, context: EnvironmentServiceContext) async throws -> JSONResponse<EnvironmentGrant> {
        let body = try await request.decode(CreateRequest.self)
        let user = try Validation.user(body.user)
        let repositoryText = body.repositoryURL
        guard (1...2048).contains(repositoryText.utf8.count) else { throw APIError.invalidRequest("`repository_url` must be 1–2048 bytes") }
        let access = body.access
        let lifetimes = Int(CloneGrant.minimumLifetime)...Int(CloneGrant.maximumLifetime)
        if let ttl = body.ttlSeconds, !lifetimes.contains(ttl) {
            throw APIError.invalidRequest("`ttl_seconds` must be a whole number from \(lifetimes.lowerBound) to \(lifetimes.upperBound)")
        }
        let lifetime = body.ttlSeconds.map(TimeInterval.init) ?? CloneGrant.defaultLifetime
        guard let runner = try await store.runner(id: body.runner) else { throw APIError.notFound("no such runner") }

        let now = clock.now
        let refused = { (reason: BrokerErrorCode, integrationID: String?) in
            AuditEvent(time: now, action: .environmentRefused, outcome: .refused, runnerID: runner.id, user: user,
                       repositoryURL: Self.loggable(repositoryText), access: access, integrationID: integrationID, reason: reason.rawValue)
        }
        let matched: IntegrationMatch.Matched
        switch IntegrationMatch.match(repositoryText, among: try await store.integrations(runnerID: runner.id)) {
        case .success(let found):
            matched = found
        case .failure(.invalidRepositoryURL(let reason)):
            throw APIError.invalidRequest("`repository_url`: \(reason)")
        case .failure(.notARepositoryURL):
            throw APIError.invalidRequest("`repository_url` is not a repository URL of Azure DevOps, GitHub, GitLab or Bitbucket")
        case .failure(.noIntegration):
            try await store.appendAudit(refused(.noIntegration, nil))
            throw APIError(.notFound, code: .noIntegration, "runner \(runner.name) has no integration for this repository's organization")
        case .failure(.ambiguous(let integrations)):
            try await store.appendAudit(refused(.ambiguousIntegration, nil))
            throw APIError(.conflict, code: .ambiguousIntegration,
                           "several of runner \(runner.name)'s integrations match equally: \(integrations.map(\.name).sorted().joined(separator: ", "))")
        }
        let integration = matched.integration
        let repository = matched.repository.string

        switch integration.credentialMode {
        case .user:
            let connection = try await store.connections(user: user).first { $0.integrationID == integration.id }
            if connection == nil || connection?.status == .needsReconnect {
                let reason: BrokerErrorCode = connection == nil ? .scmAuthorizationRequired : .needsReconnect
                var event = refused(reason, integration.id)
                event.repositoryURL = repository
                try await store.appendAudit(event)
                throw try await authorizationRequired(user: user, integration: integration, connection: connection, now: now)
            }
        case .organization:
            guard try await !store.organizationCredentials(integrationID: integration.id).isEmpty else {
                throw APIError(.conflict, code: .noOrganizationCredentials, "the integration is in organization mode but has no credentials")
            }
        case .githubApp:
            break
        }

        let grant = CloneGrant(
            id: UUID().uuidString.lowercased(), runnerID: runner.id, integrationID: integration.id, user: user,
            repositoryURL: repository, cloneURL: matched.repository.cloneURL(gitBase: integration.gitURL), access: access,
            credentialMode: integration.credentialMode, createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
        do {
            try await store.insertCloneGrant(grant, audit: .about(grant, action: .environmentCreated, outcome: .success, time: now))
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound("the runner or integration was deleted meanwhile")
        }
        context.logger.info("environment created", metadata: ["environment.id": "\(grant.id)", "integration.id": "\(integration.id)",
                                                              "access": "\(access.rawValue)"])
        return JSONResponse(EnvironmentGrant(grant, now: now), status: .created)
    }

    @Sendable func show(_ request: Request, context: EnvironmentServiceContext) async throws -> JSONResponse<EnvironmentGrant> {
        let id = try context.parameters.require("id")
        guard let grant = try await store.cloneGrant(id: id) else { throw APIError.notFound("no such environment") }
        return JSONResponse(EnvironmentGrant(grant, now: clock.now))
    }

    @Sendable func revoke(_ request: Request, context: EnvironmentServiceContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let grant = try await store.cloneGrant(id: id) else { throw APIError.notFound("no such environment") }
        let now = clock.now
        if try await store.revokeCloneGrant(id: id, now: now, audit: .about(grant, action: .environmentRevoked, outcome: .success, time: now)) {
            context.logger.info("environment revoked", metadata: ["environment.id": "\(id)"])
        }
        return Response(status: .noContent)
    }

    /// 409 with fresh connect links: the user has to connect (again) before an environment can clone.
    private func authorizationRequired(user: String, integration: Integration, connection: Connection?, now: Date) async throws -> APIError {
        let links = try await ConnectLinksController.issue(for: user, integration: integration, store: store, now: now, publicURL: publicURL)
        var details: [String: String] = [:]
        details["oauth_url"] = links.oauthUrl
        details["pat_url"] = links.patUrl
        details["expires_at"] = links.expiresAt.map { ISO8601DateFormatter().string(from: $0) }
        let message = if let connection {
            "\(user)'s \(integration.provider.displayName) connection must be renewed (\(connection.statusReason ?? "the SCM refused it")); send the user to one of the links"
        } else {
            "\(user) has not connected \(integration.provider.displayName) yet; send the user to one of the links"
        }
        return APIError(.conflict, code: .scmAuthorizationRequired, message, details: details)
    }

    /// A repository URL as the audit log keeps it when it could not be matched: bounded, and
    /// without a user part (`https://user:password@…` must not end up in the log).
    static func loggable(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.host != nil else {
            // SSH-like forms: whatever precedes the last `@` may be a token, never a name worth keeping.
            let afterUser = text.lastIndex(of: "@").map { String(text[text.index(after: $0)...]) } ?? text
            return String(afterUser.prefix(256).filter { !$0.isWhitespace && !$0.isNewline })
        }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return String((components.string ?? "").prefix(512))
    }
}
