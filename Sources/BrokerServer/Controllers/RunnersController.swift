import BrokerCore
import Foundation
import Hummingbird
import Logging

/// Admin API: create, list, show and delete runners.
struct RunnersController {
    static let registrationLifetime: TimeInterval = 3600

    let store: any RunnerStore
    let clock: BrokerClock

    func addRoutes(to group: RouterGroup<AdminContext>) {
        group.post("runners", use: create)
        group.get("runners", use: list)
        group.get("runners/{id}", use: show)
        group.delete("runners/{id}", use: delete)
    }

    /// `POST /api/v1/runners`'s body.
    struct CreateRequest: Decodable {
        var name: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name
        }
    }

    @Sendable func create(_ request: Request, context: AdminContext) async throws -> JSONResponse<CreatedRunnerRepresentation> {
        let name = try Validation.name(try await request.decode(CreateRequest.self).name, field: "name")
        let now = clock.now
        let runner = Runner(id: UUID().uuidString.lowercased(), name: name, status: .pending, createdAt: now)
        let (token, hash) = IssuedToken.make(prefix: IssuedToken.registrationPrefix)
        let expiresAt = now.addingTimeInterval(Self.registrationLifetime)
        do {
            try await store.insertRunner(runner, registration: .init(runnerID: runner.id, tokenHash: hash, expiresAt: expiresAt))
        } catch let error as StoreError where error.code == .conflict {
            throw APIError.conflict("a runner named \(name) already exists")
        }
        context.logger.info("runner created", metadata: ["runner.id": "\(runner.id)", "runner.name": "\(name)"])
        return JSONResponse(
            CreatedRunnerRepresentation(id: runner.id, name: name, status: runner.status.rawValue,
                                        registrationToken: token, registrationExpiresAt: expiresAt),
            status: .created
        )
    }

    @Sendable func list(_ request: Request, context: AdminContext) async throws -> JSONResponse<[String: [RunnerRepresentation]]> {
        JSONResponse(["runners": try await store.runners().map(RunnerRepresentation.init)])
    }

    @Sendable func show(_ request: Request, context: AdminContext) async throws -> JSONResponse<RunnerRepresentation> {
        JSONResponse(RunnerRepresentation(try await existingRunner(context)))
    }

    @Sendable func delete(_ request: Request, context: AdminContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await store.deleteRunner(id: id) else { throw APIError.notFound("no such runner") }
        context.logger.info("runner deleted", metadata: ["runner.id": "\(id)"])
        return Response(status: .noContent)
    }

    private func existingRunner(_ context: AdminContext) async throws -> Runner {
        let id = try context.parameters.require("id")
        guard let runner = try await store.runner(id: id) else { throw APIError.notFound("no such runner") }
        return runner
    }
}
