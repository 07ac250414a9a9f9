import BrokerCore
import BrokerProtocol
import Foundation
import Hummingbird

/// `POST /api/v1/service-tokens`: admins create tokens for the environment service. The token
/// is shown once; only its hash is stored.
struct ServiceTokensController {
    let store: any ServiceTokenStore
    let clock: BrokerClock

    func addRoutes(to group: RouterGroup<AdminContext>) {
        group.post("service-tokens", use: create)
        group.get("service-tokens", use: list)
        group.delete("service-tokens/{id}", use: delete)
    }

    struct Listed: Encodable {
        var id: String
        var name: String
        var role: String
        var createdAt: Date
    }

    @Sendable func list(_ request: Request, context: AdminContext) async throws -> JSONResponse<[String: [Listed]]> {
        let tokens = try await store.serviceTokens()
        return JSONResponse(["service_tokens": tokens.map { Listed(id: $0.id, name: $0.name, role: $0.role.rawValue, createdAt: $0.createdAt) }])
    }

    /// Revokes a service token at once: its next request is refused.
    @Sendable func delete(_ request: Request, context: AdminContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await store.deleteServiceToken(id: id) else { throw APIError.notFound("no such service token") }
        context.logger.info("service token deleted", metadata: ["service_token.id": "\(id)"])
        return Response(status: .noContent)
    }

    struct Created: Encodable {
        var id: String
        var name: String
        var role: String
        var token: String
        var createdAt: Date
    }

    /// `POST /api/v1/service-tokens`'s body.
    struct CreateRequest: Decodable {
        var name: String
        var role: ServiceRole

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, role
        }
    }

    @Sendable func create(_ request: Request, context: AdminContext) async throws -> JSONResponse<Created> {
        let body = try await request.decode(CreateRequest.self)
        let name = try Validation.name(body.name, field: "name")
        let role = body.role
        let (token, hash) = IssuedToken.make(prefix: IssuedToken.servicePrefix)
        let record = ServiceToken(id: UUID().uuidString.lowercased(), name: name, role: role, tokenHash: hash, createdAt: clock.now)
        try await store.insertServiceToken(record)
        context.logger.info("service token created", metadata: ["service_token.id": "\(record.id)", "role": "\(role.rawValue)"])
        return JSONResponse(Created(id: record.id, name: name, role: role.rawValue, token: token, createdAt: record.createdAt), status: .created)
    }
}

extension ServiceRole: AllowedValues {}
