import BrokerProtocol
import Hummingbird
import NIOCore

/// An error a client gets as `{"error":{"code":…,"message":…}}`. Codes are stable API;
/// messages are for people and never contain a secret.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: BrokerErrorCode
    public let message: String
    /// More fields of the error object a client can act on (links, not secrets).
    public var details: [String: String] = [:]

    public init(_ status: HTTPResponse.Status, code: BrokerErrorCode, _ message: String, details: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public static func invalidRequest(_ message: String) -> APIError { .init(.badRequest, code: .invalidRequest, message) }
    public static func notFound(_ message: String) -> APIError { .init(.notFound, code: .notFound, message) }
    public static func conflict(_ message: String) -> APIError { .init(.conflict, code: .conflict, message) }
    public static let unauthorized = APIError(.unauthorized, code: .unauthorized, "a valid bearer token is required")
    public static let payloadTooLarge = APIError(.contentTooLarge, code: .payloadTooLarge, "request bodies are limited to 64 KiB")
    public static let internalError = APIError(.internalServerError, code: .internalError, "internal error; see the broker log")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(code: code.rawValue, message: message, details: details)
        var response = try JSONResponse(body, status: status).response(from: request, context: context)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}
