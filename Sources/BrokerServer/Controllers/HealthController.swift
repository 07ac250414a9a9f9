import BrokerCore
import Hummingbird
import Logging

/// Probes for load balancers and Kubernetes: `GET /healthz` says the process serves requests
/// (liveness); `GET /readyz` says it can do its work: the store answers and its schema is
/// current (readiness). Neither needs a token nor says anything about the data.
struct HealthController {
    let store: any StoreHealth
    /// Probes are unauthenticated: a flood of them asks the store at most once a second.
    let readiness = ReadinessCache()

    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("healthz") { _, _ in
            JSONResponse(["status": "ok"])
        }
        router.get("readyz") { _, context -> JSONResponse<[String: String]> in
            guard await readiness.isReady(store: store, logger: context.logger) else {
                throw APIError(.serviceUnavailable, code: .notReady, "the store does not answer or its schema is not current")
            }
            return JSONResponse(["status": "ready"])
        }
    }
}

/// The last readiness answer, for a second.
actor ReadinessCache {
    private var last: (ready: Bool, at: ContinuousClock.Instant)?

    func isReady(store: any StoreHealth, logger: Logger) async -> Bool {
        if let last, ContinuousClock.now - last.at < .seconds(1) { return last.ready }
        var ready = true
        do {
            try await store.checkReady()
        } catch {
            logger.warning("not ready", metadata: ["error.type": "\(type(of: error))"])
            ready = false
        }
        last = (ready, .now)
        return ready
    }
}
