import BrokerCore
import BrokerProtocol
import Hummingbird

/// `GET /runner/v1/integrations`: a runner's own integrations, secrets sealed to it.
struct RunnerIntegrationsController {
    let store: any IntegrationStore
    let publicURL: String

    func addRoutes(to group: RouterGroup<RunnerContext>) {
        group.get("integrations", use: list)
    }

    @Sendable func list(_ request: Request, context: RunnerContext) async throws -> JSONResponse<IntegrationListing> {
        let integrations = try await store.integrations(runnerID: context.runnerID)
        return JSONResponse(IntegrationListing(integrations: integrations.map { RunnerIntegration($0, publicURL: publicURL) }))
    }
}
