import Hummingbird
import Logging

/// One log line per request: method, path (never the query, which may carry tickets),
/// status and duration. Headers and bodies are never logged.
struct RequestLogger<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        context.logger.info("request", metadata: [
            "http.method": "\(request.method)",
            "http.path": "\(request.uri.path)",
            "http.status": "\(response.status.code)",
            "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ])
        return response
    }
}
