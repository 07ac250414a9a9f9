import Hummingbird
import Logging

/// Turns every error into the API's error body: our own `APIError`s as they are, OAuth errors
/// in OAuth's format (the runner token endpoint), Hummingbird's
/// HTTP errors (404 for unknown routes, 405, 413…) with a stable code, and anything else into
/// a 500 whose details go only to the log (by type: error descriptions may quote input).
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as OAuthError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            return try Self.apiError(for: error.status).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            return try Self.apiError(for: error.status).response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            return try APIError.internalError.response(from: request, context: context)
        }
    }

    static func apiError(for status: HTTPResponse.Status) -> APIError {
        switch status {
        case .notFound: .notFound("no such resource")
        case .methodNotAllowed: APIError(.methodNotAllowed, code: .methodNotAllowed, "method not allowed")
        case .contentTooLarge: .payloadTooLarge
        case .unauthorized: .unauthorized
        case .badRequest: .invalidRequest("bad request")
        case .unsupportedMediaType: APIError(.unsupportedMediaType, code: .unsupportedMediaType, "unsupported media type")
        default:
            status.code >= 500 ? .internalError : APIError(status, code: .http(Int(status.code)), status.reasonPhrase)
        }
    }
}
