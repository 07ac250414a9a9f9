import BrokerCore
import Foundation
import Hummingbird

/// `GET /api/v1/audit?user=&runner=&since=&after=&limit=`: the append-only audit log, oldest
/// first, for admins. Page with `after` set to the last `sequence` read.
struct AuditController {
    let store: any AuditLog

    func addRoutes(to group: RouterGroup<AdminContext>) {
        group.get("audit", use: list)
    }

    struct Event: Encodable {
        var sequence: Int64
        var time: Date
        var action: String
        var outcome: String
        var runner: String?
        var environment: String?
        var user: String?
        var repositoryUrl: String?
        var access: String?
        var integration: String?
        var connection: String?
        var reason: String?
    }

    struct Listing: Encodable {
        var events: [Event]
        /// Pass as `after` for the next page; absent when this page was not full.
        var nextAfter: Int64?
    }

    static let maximumLimit = 1000

    @Sendable func list(_ request: Request, context: AdminContext) async throws -> JSONResponse<Listing> {
        let parameters = request.uri.queryParameters
        let known: Set<String> = ["user", "runner", "since", "after", "limit"]
        if let unknown = parameters.map({ String($0.key) }).first(where: { !known.contains($0) }) {
            throw APIError.invalidRequest("unknown query parameter `\(unknown.prefix(64))`")
        }
        var query = AuditQuery()
        if let user = parameters["user"] { query.user = try Validation.user(String(user)) }
        if let runner = parameters["runner"] { query.runnerID = String(runner.prefix(128)) }
        if let since = parameters["since"] {
            guard let date = Self.time(String(since)) else {
                throw APIError.invalidRequest("`since` must be an ISO 8601 time (2026-11-27T08:00:00Z) or Unix seconds")
            }
            query.since = date
        }
        if let after = parameters["after"] {
            guard let value = Int64(after), value >= 0 else { throw APIError.invalidRequest("`after` must be a sequence number") }
            query.after = value
        }
        if let limit = parameters["limit"] {
            guard let value = Int(limit), (1...Self.maximumLimit).contains(value) else {
                throw APIError.invalidRequest("`limit` must be from 1 to \(Self.maximumLimit)")
            }
            query.limit = value
        }
        let events = try await store.auditEvents(query)
        return JSONResponse(Listing(
            events: events.map {
                Event(sequence: $0.sequence ?? 0, time: $0.time, action: $0.action.rawValue, outcome: $0.outcome.rawValue, runner: $0.runnerID,
                      environment: $0.environmentID, user: $0.user, repositoryUrl: $0.repositoryURL, access: $0.access?.rawValue,
                      integration: $0.integrationID, connection: $0.connectionID, reason: $0.reason)
            },
            nextAfter: events.count == query.limit ? events.last?.sequence : nil))
    }

    static func time(_ text: String) -> Date? {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
