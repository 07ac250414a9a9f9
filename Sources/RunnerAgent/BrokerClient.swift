import AsyncHTTPClient
import BrokerCrypto
import Foundation
import NIOCore
import NIOHTTP1

/// The runner's side of the broker API: registration, token exchange, integrations.
public struct BrokerClient: Sendable {
    public let brokerURL: String
    /// The audience of client assertions: the broker's token endpoint under its public URL,
    /// which differs from `brokerURL` for a runner inside the broker's process.
    public let tokenAudience: String
    let httpClient: HTTPClient
    let timeout: TimeAmount = .seconds(30)

    public init(brokerURL: String, tokenAudience: String? = nil, httpClient: HTTPClient = .shared) {
        var url = brokerURL
        while url.hasSuffix("/") { url.removeLast() }
        self.brokerURL = url
        self.tokenAudience = tokenAudience ?? url + "/runner/v1/token"
        self.httpClient = httpClient
    }

    /// Registers this runner's public keys with a one-time registration token.
    public func register(registrationToken: String, keys: RunnerKeys) async throws -> String {
        let body: [String: Any] = [
            "registration_token": registrationToken,
            "encryption_key": try jsonObject(keys.encryption.publicKey.jwk),
            "signing_key": try jsonObject(keys.signing.publicKey.jwk),
        ]
        let response = try await send(.POST, "/runner/v1/register", json: try JSONSerialization.data(withJSONObject: body))
        struct Registered: Decodable { var runner_id: String }
        return try decode(Registered.self, response, expecting: .created).runner_id
    }

    /// Exchanges a freshly signed client assertion for an access token.
    public func accessToken(runnerID: String, keys: RunnerKeys) async throws -> AccessToken {
        let assertion = try await ClientAssertion.sign(runnerID: runnerID, audience: tokenAudience, key: keys.signing)
        let form = [
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ].map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let response = try await send(.POST, "/runner/v1/token", body: Array(form.utf8), contentType: "application/x-www-form-urlencoded")
        struct TokenResponse: Decodable { var access_token: String; var expires_in: Int }
        let token = try decode(TokenResponse.self, response, expecting: .ok)
        return AccessToken(value: token.access_token, expiresAt: Date().addingTimeInterval(TimeInterval(token.expires_in)))
    }

    /// This runner's integrations, with client secrets still sealed.
    public func integrations(accessToken: AccessToken) async throws -> [RunnerIntegration] {
        let response = try await send(.GET, "/runner/v1/integrations", bearer: accessToken.value)
        struct Listing: Decodable { var integrations: [RunnerIntegration] }
        return try decode(Listing.self, response, expecting: .ok).integrations
    }

    /// Waits up to `wait` seconds for jobs and leases at most `max` of them.
    public func pollJobs(accessToken: AccessToken, wait: Int, max: Int) async throws -> [RunnerJob] {
        let response = try await send(.GET, "/runner/v1/jobs?wait=\(wait)&max=\(max)", bearer: accessToken.value,
                                      timeout: .seconds(Int64(wait) + 15))
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        struct Listing: Decodable { var jobs: [RunnerJob] }
        return try decode(Listing.self, response, expecting: .ok).jobs
    }

    /// Reports a job's result. Returns the broker's verdict: "accepted" or "duplicate".
    public func postResult(_ result: JobResult, jobID: String, accessToken: AccessToken) async throws -> String {
        let response = try await send(.POST, "/runner/v1/jobs/\(jobID)/result", json: try JSONEncoder().encode(result), bearer: accessToken.value)
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        // The job is gone (withdrawn, or its integration deleted): nothing to report to.
        if response.status == .notFound { return "gone" }
        struct Verdict: Decodable { var status: String }
        return try decode(Verdict.self, response, expecting: .ok).status
    }

    // MARK: HTTP

    struct ReceivedResponse {
        var status: HTTPResponseStatus
        var body: ByteBuffer
    }

    func send(_ method: HTTPMethod, _ path: String, json: Data, bearer: String? = nil) async throws -> ReceivedResponse {
        try await send(method, path, body: Array(json), contentType: "application/json", bearer: bearer)
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
                      bearer: String? = nil, timeout: TimeAmount? = nil) async throws -> ReceivedResponse {
        var request = HTTPClientRequest(url: brokerURL + path)
        request.method = method
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await httpClient.execute(request, timeout: timeout ?? self.timeout)
            return ReceivedResponse(status: response.status, body: try await response.body.collect(upTo: 4 * 1024 * 1024))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RunnerError("cannot reach the broker at \(brokerURL): \(type(of: error))")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: ReceivedResponse, expecting status: HTTPResponseStatus) throws -> T {
        guard response.status == status else { throw RunnerError("the broker refused: \(Self.errorSummary(response))") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        } catch {
            throw RunnerError("the broker sent an unexpected response")
        }
    }

    /// The broker's error as `code: message` (API errors or OAuth errors).
    static func errorSummary(_ response: ReceivedResponse) -> String {
        struct OAuthErrorBody: Decodable { var error: String; var error_description: String? }
        if let body = try? JSONDecoder().decode(BrokerErrorBody.self, from: Data(response.body.readableBytesView)) {
            return "\(response.status.code) \(body.error.code): \(body.error.message)"
        }
        if let body = try? JSONDecoder().decode(OAuthErrorBody.self, from: Data(response.body.readableBytesView)) {
            return "\(response.status.code) \(body.error): \(body.error_description ?? "")"
        }
        return "HTTP \(response.status.code)"
    }

    private func jsonObject(_ jwk: JWK) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(jwk.jsonString().utf8))
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

public struct AccessToken: Sendable {
    public var value: String
    public var expiresAt: Date
}

/// Broker answers the runner reacts to.
public enum BrokerClientError: Error, Sendable {
    /// The access token was refused (expired, or the broker lost it): get a new one.
    case unauthorized
}
