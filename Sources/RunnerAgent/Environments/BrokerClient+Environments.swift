import BrokerProtocol
import Foundation
import NIOCore
import NIOHTTP1

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
        let body = try WireFormat.encode(RefreshRequest(version: version, environment: environmentID))
        let response = try await send(.POST, "/runner/v1/connections/\(Self.pathSegment(connectionID))/refresh", json: body, bearer: accessToken.value)
        let answer = try decodeOrRefuse(RefreshAnswer.self, response)
        switch (answer.status, answer.lease, answer.credential) {
        case (.acquired, let lease?, _): return .acquired(lease: lease)
        case (.current, _, let credential?): return .current(credential)
        case (.held, _, _): return .held(retryAfter: .milliseconds(max(50, min(answer.retryAfterMs ?? 200, 5000))))
        default: throw RunnerError("the broker sent an unexpected refresh answer")
        }
    }

    /// Reports a refresh: new sealed credentials, or why the SCM refused. Returns the connection's version.
    public func reportRefresh(connectionID: String, lease: String, environmentID: String, outcome: RefreshReport.Outcome,
                              accessToken: AccessToken) async throws -> Int {
        let body = RefreshReport(lease: lease, environment: environmentID, outcome: outcome)
        let response = try await send(.POST, "/runner/v1/connections/\(Self.pathSegment(connectionID))/refresh-result",
                                      json: try WireFormat.encode(body), bearer: accessToken.value)
        return try decodeOrRefuse(RefreshReceipt.self, response).version
    }

    /// Records at the broker that the runner refused an environment's request.
    public func reportRefusal(environmentID: String, reason: String, requested: String, accessToken: AccessToken) async throws {
        let body = try WireFormat.encode(RefusalReport(reason: reason, requested: String(requested.prefix(512))))
        let response = try await send(.POST, "/runner/v1/environments/\(Self.pathSegment(environmentID))/refusals", json: body,
                                      bearer: accessToken.value)
        _ = try decodeOrRefuse(RefusalReceipt.self, response)
    }

    func decodeOrRefuse<T: Decodable>(_ type: T.Type, _ response: ReceivedResponse) throws -> T {
        let bytes = Data(response.body.readableBytesView)
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        guard (200..<300).contains(response.status.code) else {
            if let body = try? JSONDecoder().decode(ErrorBody.self, from: bytes) {
                throw BrokerRefusal(status: Int(response.status.code), code: body.error.code, message: body.error.message)
            }
            throw RunnerError("the broker answered HTTP \(response.status.code)")
        }
        do {
            return try WireFormat.decode(T.self, from: bytes)
        } catch {
            throw RunnerError(.unreadableAnswer, "the broker sent an answer this runner cannot read; is the broker newer than the runner?")
        }
    }

    /// An id as one path segment: everything but unreserved characters percent-encoded.
    static func pathSegment(_ text: String) -> String {
        formEncode(text)
    }
}
