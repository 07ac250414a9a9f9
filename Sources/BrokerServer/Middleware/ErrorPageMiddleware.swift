import Hummingbird
import Logging

/// Browser routes answer with pages, whatever goes wrong: a `PageError` is its page, an
/// `APIError` a page with its status and message, anything else a plain 500 page whose details
/// go only to the log (by type: error descriptions may quote input). Nothing here answers a
/// 500 for bad input, and no error reaches a browser as JSON.
///
/// Routes that also serve scripts and API clients (`.negotiated`) answer those, the ones not
/// asking for HTML, with the API's JSON error instead.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    enum Mode: Sendable {
        /// Always a page.
        case pages
        /// A page when the request accepts HTML, else the API error.
        case negotiated
    }

    let mode: Mode

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let wantsPage = mode == .pages || request.acceptsHTML
        do {
            return try await next(request, context)
        } catch let error as PageError {
            guard wantsPage else { throw error.apiError }
            return error.page.response()
        } catch let error as APIError where wantsPage {
            if error.status.code >= 500 {
                context.logger.error("browser request failed", metadata: ["error.code": "\(error.code)"])
                return Self.failurePage.response()
            }
            return Page(status: error.status, title: "Not possible", heading: "This cannot be done", message: error.message).response()
        } catch let error as HTTPError where wantsPage && error.status.code < 500 {
            // Hummingbird's own refusals (a missing path parameter, a body too large).
            return Page(status: error.status, title: "Not possible", heading: "This request was not accepted",
                        message: APIErrorMiddleware<Context>.apiError(for: error.status).message).response()
        } catch where wantsPage {
            context.logger.error("browser request failed", metadata: ["error.type": "\(type(of: error))"])
            return Self.failurePage.response()
        }
    }

    static var failurePage: Page {
        Page(status: .internalServerError, title: "Error", heading: "Something went wrong",
             message: "The broker could not handle this request. Try again in a moment; if it keeps happening, tell your administrator.")
    }
}

extension Request {
    /// A browser navigating (rather than the page's script or an API client).
    var acceptsHTML: Bool { headers[.accept]?.contains("text/html") == true }
}
