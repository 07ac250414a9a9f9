import BrokerCore
import BrokerProtocol
import Foundation
import Hummingbird

/// `POST /api/v1/connect-links`: the environment service asks for links that let one user
/// connect one integration in a browser. The ticket in them is single-use and lasts 10 minutes.
struct ConnectLinksController {
    let store: any IntegrationStore & ConnectFlowStore
    let clock: BrokerClock
    let publicURL: String

    func addRoutes(to group: RouterGroup<EnvironmentServiceContext>) {
        group.post("connect-links", use: create)
    }

    struct Links: Encodable {
        var credentialMode = CredentialMode.user.rawValue
        /// False when the integration uses organization credentials: users need no connection.
        var connectionRequired = true
        var oauthUrl: String?
        var patUrl: String?
        var expiresAt: Date?
    }

    /// `POST /api/v1/connect-links`'s body.
    struct CreateRequest: Decodable {
        var user: String
        /// The integration's id.
        var integration: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case user, integration
        }
    }

    @Sendable func create(_ request: Request, context: EnvironmentServiceContext) async throws -> JSONResponse<Links> {
        let body = try await request.decode(CreateRequest.self)
        let user = try Validation.user(body.user)
        guard let integration = try await store.integration(id: body.integration) else { throw APIError.notFound("no such integration") }
        if integration.credentialMode != .user {
            return JSONResponse(Links(credentialMode: integration.credentialMode.rawValue, connectionRequired: false))
        }
        let links = try await Self.issue(for: user, integration: integration, store: store, now: clock.now, publicURL: publicURL)
        context.logger.info("connect links issued", metadata: ["integration.id": "\(integration.id)"])
        return JSONResponse(links, status: .created)
    }

    /// A fresh ticket and the links that carry it.
    static func issue(for user: String, integration: Integration, store: any ConnectFlowStore, now: Date, publicURL: String) async throws -> Links {
        let (ticket, hash) = IssuedToken.make(prefix: IssuedToken.connectTicketPrefix)
        let expiresAt = now.addingTimeInterval(ConnectTicket.lifetime)
        do {
            try await store.insertConnectTicket(ConnectTicket(tokenHash: hash, user: user, integrationID: integration.id, expiresAt: expiresAt), now: now)
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound("no such integration")
        }
        return Links(
            oauthUrl: integration.oauth == nil ? nil : "\(publicURL)/connect/\(integration.id)?ticket=\(ticket)",
            patUrl: integration.pat.enabled ? "\(publicURL)/pat/\(integration.id)?ticket=\(ticket)" : nil,
            expiresAt: expiresAt)
    }
}
