import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SCMProviders

/// Sends the requests `SCMProviders` builds. Redirects are not followed: a token request must
/// never be replayed, body and all, to wherever a response points.
public struct SCMTransport: Sendable {
    let httpClient: HTTPClient
    let timeout: TimeAmount

    /// Two SCM calls per exchange must fit well inside the broker's 60-second lease; PAT
    /// validation runs under its own overall budget (see `JobExecutor.validationBudget`).
    public init(httpClient: HTTPClient, timeout: TimeAmount = .seconds(20)) {
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// A client for SCM calls: no redirects.
    public static func makeHTTPClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    }

    /// Sends `request`; a network failure is `scm_unreachable` (naming the host, never the URL's query).
    /// A cancelled call is `scm_unreachable` too, but the caller checks for cancellation
    /// before reporting anything.
    public func send(_ request: SCMHTTPRequest) async throws(OAuthFailure) -> SCMHTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await httpClient.execute(outgoing, timeout: timeout)
            let body = try await response.body.collect(upTo: 1024 * 1024)
            return SCMHTTPResponse(status: Int(response.status.code),
                                   headers: response.headers.map { SCMHTTPHeader(name: $0.name, value: $0.value) },
                                   body: Array(body.readableBytesView))
        } catch {
            let host = URLComponents(string: request.url)?.host ?? "the SCM"
            throw OAuthFailure(code: .scmUnreachable, message: "Could not reach \(host) from the runner (\(type(of: error))).")
        }
    }

    /// `send` as a value, for retry loops.
    func result(of request: SCMHTTPRequest) async -> Result<SCMHTTPResponse, OAuthFailure> {
        do {
            return .success(try await send(request))
        } catch {
            return .failure(error)
        }
    }
}
