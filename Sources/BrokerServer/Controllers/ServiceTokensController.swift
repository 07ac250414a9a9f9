import BrokerCore
import Foundation
import Hummingbird

/// `POST /api/v1/service-tokens`: admins create tokens for the environment service. The token
/// is shown once; only its hash is stored.
struct ServiceTokensController {
    let store: any Store
    let clock: BrokerClock

    func addRoutes(to group: RouterGroup<AdminContext>) {
        group.post("service-tokens", use: create)
    }

    struct Created: Encodable {
        var id: String
        var name: String
        var role: String
        var token: String
        var createdAt: Date
    }

    @Sendable func create(_ request: Request, context: AdminContext) async throws -> JSONResponse<Created> {
        let body = try await request.jsonObject()
        try body.allowOnly(["name", "role"])
        let name = try Validation.name(try body.requiredString("name"), field: "name")
        guard let role = ServiceRole(rawValue: try body.requiredString("role")) else {
            throw APIError.invalidRequest("`role` must be one of \(ServiceRole.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
        }
        let (token, hash) = IssuedToken.make(prefix: IssuedToken.servicePrefix)
        let record = ServiceToken(id: UUID().uuidString.lowercased(), name: name, role: role, tokenHash: hash, createdAt: clock.now)
        try await store.insertServiceToken(record)
        context.logger.info("service token created", metadata: ["service_token.id": "\(record.id)", "role": "\(role.rawValue)"])
        return JSONResponse(Created(id: record.id, name: name, role: role.rawValue, token: token, createdAt: record.createdAt), status: .created)
    }
}
