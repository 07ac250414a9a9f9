import Hummingbird

struct HealthController {
    func addRoutes(to router: Router<BrokerRequestContext>) {
        router.get("healthz") { _, _ in
            JSONResponse(["status": "ok"])
        }
    }
}
