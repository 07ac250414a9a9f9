import Foundation
import NIOCore
import NIOHTTP1

/// An environment's clone grant as the broker shows it to the runner.
public struct EnvironmentGrant: Decodable, Sendable, Equatable {
    public var id: String
    public var user: String
    public var integration: String
    public var repositoryURL: String
    public var cloneURL: String
    public var access: String
    public var credentialMode: String
    public var status: String
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case id, user, integration, access, status
        case repositoryURL = "repository_url"
        case cloneURL = "clone_url"
        case credentialMode = "credential_mode"
        case expiresAt = "expires_at"
    }
}

/// The credential the broker hands out for an environment, still sealed to this runner.
public struct SealedCloneCredential: Decodable, Sendable, Equatable {
    /// `oauth`, `pat`, `organization` or `github_app`.
    public var kind: String
    public var connectionID: String?
    public var version: Int?
    public var sealed: String?
    public var expiresAt: Date?
    public var username: String?

    enum CodingKeys: String, CodingKey {
        case kind, version, sealed, username
        case connectionID = "connection_id"
        case expiresAt = "expires_at"
    }
}

public struct CloneCredentialResponse: Decodable, Sendable {
    public var environment: EnvironmentGrant
    public var integration: RunnerIntegration
    public var credential: SealedCloneCredential
}

/// The broker's answer to a request for the right to refresh a connection's token.
public enum RefreshPermission: Sendable, Equatable {
    case acquired(lease: String)
    case held(retryAfter: Duration)
    /// Someone refreshed already: this is the newer credential.
    case current(SealedCloneCredential)
}

/// A refusal the broker explained: `{"error":{"code","message"}}`.
public struct BrokerRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public var description: String { "\(code): \(message)" }
}

extension BrokerClient {
    public func environment(id: String, accessToken: AccessToken) async throws -> EnvironmentGrant {
        let response = try await send(.GET, "/runner/v1/environments/\(Self.pathSegment(id))", bearer: accessToken.value)
        return try decodeOrRefuse(EnvironmentGrant.self, response)
    }

    public func cloneCredential(environmentID: String, accessToken: AccessToken) async throws -> CloneCredentialResponse {
        let response = try await send(.POST, "/runner/v1/environments/\(Self.pathSegment(environmentID))/clone-credential",
                                      json: Data("{}".utf8), bearer: accessToken.value)
        return try decodeOrRefuse(CloneCredentialResponse.self, response)
    }

    public func requestRefresh(connectionID: String, version: Int, environmentID: String, accessToken: AccessToken) async throws -> RefreshPermission {
        struct Body: Encodable { var version: Int; var environment: String }
        let body = try JSONEncoder().encode(Body(version: version, environment: environmentID))
        let response = try await send(.POST, "/runner/v1/connections/\(Self.pathSegment(connectionID))/refresh", json: body, bearer: accessToken.value)
        struct Answer: Decodable {
            var status: String
            var lease: String?
            var retry_after_ms: Int?
            var credential: SealedCloneCredential?
        }
        let answer = try decodeOrRefuse(Answer.self, response)
        switch (answer.status, answer.lease, answer.credential) {
        case ("acquired", let lease?, _): return .acquired(lease: lease)
        case ("current", _, let credential?): return .current(credential)
        case ("held", _, _): return .held(retryAfter: .milliseconds(max(50, min(answer.retry_after_ms ?? 200, 5000))))
        default: throw RunnerError("the broker sent an unexpected refresh answer")
        }
    }

    /// Reports a refresh: new sealed credentials, or why the SCM refused. Returns the connection's version.
    public func reportRefresh(connectionID: String, lease: String, environmentID: String, outcome: RefreshReport,
                              accessToken: AccessToken) async throws -> Int {
        struct Failure: Encodable { var code: String; var permanent: Bool }
        struct Body: Encodable {
            var lease: String
            var environment: String
            var outcome: String
            var credentials: String?
            var scopes: [String]?
            var expires_at: String?
            var error: Failure?
        }
        var body = Body(lease: lease, environment: environmentID, outcome: "failed")
        switch outcome {
        case .refreshed(let credentials, let expiresAt, let scopes):
            body.outcome = "refreshed"
            body.credentials = credentials
            body.scopes = scopes
            body.expires_at = expiresAt.map { ISO8601DateFormatter().string(from: $0) }
        case .failed(let code, let permanent):
            body.error = Failure(code: code, permanent: permanent)
        }
        let response = try await send(.POST, "/runner/v1/connections/\(Self.pathSegment(connectionID))/refresh-result",
                                      json: try JSONEncoder().encode(body), bearer: accessToken.value)
        struct Answer: Decodable { var version: Int }
        return try decodeOrRefuse(Answer.self, response).version
    }

    /// Records at the broker that the runner refused an environment's request.
    public func reportRefusal(environmentID: String, reason: String, requested: String, accessToken: AccessToken) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["reason": reason, "requested": String(requested.prefix(512))])
        let response = try await send(.POST, "/runner/v1/environments/\(Self.pathSegment(environmentID))/refusals", json: body,
                                      bearer: accessToken.value)
        struct Answer: Decodable {}
        _ = try decodeOrRefuse(Answer.self, response)
    }

    func decodeOrRefuse<T: Decodable>(_ type: T.Type, _ response: ReceivedResponse) throws -> T {
        let bytes = Data(response.body.readableBytesView)
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        guard (200..<300).contains(response.status.code) else {
            if let body = try? JSONDecoder().decode(BrokerErrorBody.self, from: bytes) {
                throw BrokerRefusal(status: Int(response.status.code), code: body.error.code, message: body.error.message)
            }
            throw RunnerError("the broker answered HTTP \(response.status.code)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: bytes)
        } catch {
            throw RunnerError("the broker sent an unexpected response")
        }
    }

    /// An id as one path segment: everything but unreserved characters percent-encoded.
    static func pathSegment(_ text: String) -> String {
        formEncode(text)
    }
}

struct BrokerErrorBody: Decodable {
    struct Detail: Decodable {
        var code: String
        var message: String
    }

    var error: Detail
}

/// What the runner reports after refreshing a connection's token.
public enum RefreshReport: Sendable {
    /// `credentials`: the new `ConnectionCredentials`, sealed to this runner.
    case refreshed(credentials: String, expiresAt: Date?, scopes: [String])
    case failed(code: String, permanent: Bool)
}
