import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A browser as far as the connect flow can tell: real HTTP over loopback, a cookie jar per
/// origin, and redirects followed one hop at a time (so every hop is visible to the test).
final class TestBrowser: @unchecked Sendable {
    struct Page {
        var url: String
        var status: Int
        var headers: HTTPHeaders
        var text: String
        /// Every URL the browser was sent to on the way, the first included.
        var visited: [String]

        var location: String? { headers.first(name: "Location") }

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
    }

    private let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    private let lock = NSLock()
    private var jar: [String: [String: String]] = [:]
    private var routing: (@Sendable (String) -> String)?

    /// Where requests for a URL really go, as a load balancer in front of several brokers decides:
    /// the browser keeps its URLs (and cookies) and never knows.
    func route(_ routing: @escaping @Sendable (String) -> String) {
        lock.withLock { self.routing = routing }
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    /// `redirects`: how many redirects to follow; the response after that is returned as is.
    func get(_ url: String, accept: String = "text/html", redirects: Int = 10) async throws -> Page {
        try await navigate(.GET, url, accept: accept, redirects: redirects)
    }

    func post(_ url: String, accept: String = "text/html", body: String? = nil) async throws -> Page {
        try await navigate(.POST, url, accept: accept, body: body)
    }

    /// Sends a request and follows redirects (up to 10), as a browser's navigation does.
    private func navigate(_ method: HTTPMethod, _ start: String, accept: String, redirects: Int = 10, body: String? = nil) async throws -> Page {
        var url = start
        var method = method
        var visited: [String] = []
        for hop in 0...redirects {
            visited.append(url)
            var request = HTTPClientRequest(url: lock.withLock { routing }?(url) ?? url)
            request.method = method
            request.headers.add(name: "Accept", value: accept)
            if let cookie = cookieHeader(for: url) { request.headers.add(name: "Cookie", value: cookie) }
            if method == .POST, let body {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            store(response.headers[canonicalForm: "Set-Cookie"].map(String.init), from: url)
            if hop < redirects, [301, 302, 303, 307, 308].contains(response.status.code), let location = response.headers.first(name: "Location") {
                url = URL(string: location, relativeTo: URL(string: url))!.absoluteString
                if response.status.code != 307 && response.status.code != 308 { method = .GET }
                continue
            }
            return Page(url: url, status: Int(response.status.code), headers: response.headers, text: String(buffer: body), visited: visited)
        }
        fatalError("unreachable: the last hop returns")
    }

    func cookies(for url: String) -> [String: String] {
        lock.withLock { jar[Self.origin(url)] ?? [:] }
    }

    private func cookieHeader(for url: String) -> String? {
        let cookies = self.cookies(for: url)
        return cookies.isEmpty ? nil : cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    }

    private func store(_ headers: [String], from url: String) {
        let origin = Self.origin(url)
        lock.withLock {
            for header in headers {
                guard let pair = header.split(separator: ";").first, let equals = pair.firstIndex(of: "=") else { continue }
                let name = pair[..<equals].trimmingCharacters(in: .whitespaces)
                jar[origin, default: [:]][name] = String(pair[pair.index(after: equals)...])
            }
        }
    }

    private static func origin(_ url: String) -> String {
        let components = URLComponents(string: url)
        return "\(components?.host ?? ""):\(components?.port ?? 0)"
    }
}
