import BrokerCore
import Hummingbird
import Logging

/// Probes for load balancers and Kubernetes: `GET /healthz` says the process serves requests
/// (liveness); `GET /readyz` says it can do its work: the store answers and its schema is
/// current (readiness). Neither needs a token nor says anything about the data.
struct HealthController {
    let store: any StoreHealth

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("healthz") { _, _ in
            JSONResponse(["status": "ok"])
        }
        router.get("readyz") { _, context -> JSONResponse<[String: String]> in
            do {
                try await store.checkReady()
                return JSONResponse(["status": "ready"])
            } catch {
                context.logger.warning("not ready", metadata: ["error.type": "\(type(of: error))"])
                throw APIError(.serviceUnavailable, code: .notReady, "the store does not answer or its schema is not current")
            }
        }
    }
}
