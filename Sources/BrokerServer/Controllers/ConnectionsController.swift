import BrokerCore
import Foundation
import Hummingbird

/// A user's connections, for the environment service and admins. Credentials never appear:
/// only who the user is at the SCM and the state of the connection.
struct ConnectionsController {
    let store: any ConnectionStore
    let clock: BrokerClock
    let notifier: JobNotifier

    func addRoutes(to group: RouterGroup<EnvironmentServiceContext>) {
        group.get("users/{user}/connections", use: list)
        group.delete("users/{user}/connections/{id}", use: delete)
    }

    struct Representation: Encodable {
        var id: String
        var integration: String
        var kind: String
        var scmUser: SCMUser
        var scopes: [String]
        var status: String
        var statusReason: String?
        var expiresAt: Date?
        var createdAt: Date

        init(_ connection: Connection) {
            id = connection.id
            integration = connection.integrationID
            kind = connection.kind.rawValue
            scmUser = connection.scmUser
            scopes = connection.scopes
            status = connection.status.rawValue
            statusReason = connection.statusReason
            expiresAt = connection.expiresAt
            createdAt = connection.createdAt
        }
    }

    @Sendable func list(_ request: Request, context: EnvironmentServiceContext) async throws -> JSONResponse<[String: [Representation]]> {
        let user = try Validation.user(try context.parameters.require("user"))
        return JSONResponse(["connections": try await store.connections(user: user).map(Representation.init)])
    }

    @Sendable func delete(_ request: Request, context: EnvironmentServiceContext) async throws -> Response {
        let user = try Validation.user(try context.parameters.require("user"))
        let id = try context.parameters.require("id")
        guard let connection = try await store.connection(id: id), connection.user == user,
              try await store.deleteConnection(id: id, user: user, now: clock.now)
        else { throw APIError.notFound("no such connection") }
        notifier.notify(runnerID: connection.runnerID)
        context.logger.info("connection deleted; revocation queued", metadata: ["connection.id": "\(id)"])
        return Response(status: .noContent)
    }
}
