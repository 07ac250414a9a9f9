import AsyncHTTPClient
import BrokerCrypto
import BrokerProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The runner's side of the broker API: registration, token exchange, integrations.
///
/// `brokerURL` may list several brokers, comma-separated (or be one load balancer's URL): a
/// request that cannot reach one broker goes to the next, so a runner outlives the loss of a
/// replica. Every broker of a deployment shares one database and one public URL.
public struct BrokerClient: Sendable {
    /// As given: one URL, or several separated by commas.
    public let brokerURL: String
    public let brokerURLs: [String]
    /// The audience of client assertions: the broker's token endpoint under its public URL
    /// (the first one listed), which differs from `brokerURL` for a runner inside the broker's process.
    public let tokenAudience: String
    let httpClient: HTTPClient
    let timeout: TimeAmount = .seconds(30)
    /// Which broker requests go to now; moves on when one cannot be reached.
    private let current = BrokerRotation()

    public init(brokerURL: String, tokenAudience: String? = nil, httpClient: HTTPClient = .shared) {
        let urls = brokerURL.split(separator: ",").map { part -> String in
            var url = part.trimmingCharacters(in: .whitespaces)
            while url.hasSuffix("/") { url.removeLast() }
            return url
        }.filter { !$0.isEmpty }
        brokerURLs = urls.isEmpty ? [brokerURL] : urls
        self.brokerURL = brokerURLs.joined(separator: ",")
        self.tokenAudience = tokenAudience ?? brokerURLs[0] + "/runner/v1/token"
        self.httpClient = httpClient
    }

    /// Registers this runner's public keys with a one-time registration token.
    public func register(registrationToken: String, keys: RunnerKeys) async throws -> String {
        let body = RegistrationRequest(registrationToken: registrationToken, encryptionKey: keys.encryption.publicKey.jwk,
                                       signingKey: keys.signing.publicKey.jwk)
        let response = try await send(.POST, "/runner/v1/register", json: try WireFormat.encode(body))
        return try decode(RegistrationReceipt.self, response, expecting: .created).runnerID
    }

    /// Exchanges a freshly signed client assertion for an access token.
    public func accessToken(runnerID: String, keys: RunnerKeys) async throws -> AccessToken {
        let assertion = try await ClientAssertion.sign(runnerID: runnerID, audience: tokenAudience, key: keys.signing)
        let form = [
            ("grant_type", RunnerTokenGrant.grantType),
            ("client_assertion_type", RunnerTokenGrant.assertionType),
            ("client_assertion", assertion),
        ].map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let response = try await send(.POST, "/runner/v1/token", body: Array(form.utf8), contentType: "application/x-www-form-urlencoded")
        let token = try decode(RunnerTokenResponse.self, response, expecting: .ok)
        return AccessToken(value: token.accessToken, expiresAt: Date().addingTimeInterval(TimeInterval(token.expiresIn)))
    }

    /// This runner's integrations, with client secrets still sealed.
    public func integrations(accessToken: AccessToken) async throws -> [RunnerIntegration] {
        let response = try await send(.GET, "/runner/v1/integrations", bearer: accessToken.value)
        return try decode(IntegrationListing.self, response, expecting: .ok).integrations
    }

    /// Waits up to `wait` seconds for jobs and leases at most `max` of them.
    public func pollJobs(accessToken: AccessToken, wait: Int, max: Int) async throws -> [LeasedJob] {
        try await poll(accessToken: accessToken, wait: wait, max: max).jobs
    }

    /// Waits up to `wait` seconds for jobs and leases at most `max` of them; the listing names
    /// the jobs this runner could not read.
    public func poll(accessToken: AccessToken, wait: Int, max: Int) async throws -> JobListing {
        let response = try await send(.GET, "/runner/v1/jobs?wait=\(wait)&max=\(max)", bearer: accessToken.value,
                                      timeout: .seconds(Int64(wait) + 15))
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        return try decode(JobListing.self, response, expecting: .ok)
    }

    /// What the broker made of a job report.
    public enum ReportVerdict: String, Sendable {
        case accepted, duplicate
        /// The job is gone (withdrawn, or its integration deleted): nothing to report to.
        case gone
    }

    /// Reports a job's result.
    public func postResult(_ report: JobReport, jobID: String, accessToken: AccessToken) async throws -> ReportVerdict {
        let response = try await send(.POST, "/runner/v1/jobs/\(Self.pathSegment(jobID))/result", json: try WireFormat.encode(report),
                                      bearer: accessToken.value)
        if response.status == .unauthorized { throw BrokerClientError.unauthorized }
        if response.status == .notFound { return .gone }
        switch try decode(JobReportReceipt.self, response, expecting: .ok).status {
        case .accepted: return .accepted
        case .duplicate: return .duplicate
        }
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
        var lastError: (any Error)?
        // Each broker once, starting with the one that answered last.
        for _ in brokerURLs.indices {
            let index = current.index
            let base = brokerURLs[index % brokerURLs.count]
            var request = HTTPClientRequest(url: base + path)
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
                lastError = error
                current.moveOn(from: index)
                // A POST that may have reached the broker is not sent to another one: it could
                // apply twice (a result, a registration). Only a refused or unmade connection is
                // surely unsent; a GET (a poll, a read) can always go elsewhere.
                guard method == .GET || Self.neverSent(error) else { break }
            }
        }
        throw RunnerError("cannot reach the broker at \(brokerURL): \(lastError.map { "\(type(of: $0))" } ?? "no URL")")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: ReceivedResponse, expecting status: HTTPResponseStatus) throws -> T {
        guard response.status == status else { throw RunnerError("the broker refused: \(Self.errorSummary(response))") }
        do {
            return try WireFormat.decode(T.self, from: Data(response.body.readableBytesView))
        } catch {
            throw RunnerError("the broker sent an unexpected response")
        }
    }

    /// The broker's error as `code: message` (API errors or OAuth errors).
    static func errorSummary(_ response: ReceivedResponse) -> String {
        if let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body.readableBytesView)) {
            return "\(response.status.code) \(body.error.code): \(body.error.message)"
        }
        if let body = try? JSONDecoder().decode(OAuthErrorBody.self, from: Data(response.body.readableBytesView)) {
            return "\(response.status.code) \(body.error): \(body.errorDescription ?? "")"
        }
        return "HTTP \(response.status.code)"
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

extension BrokerClient {
    /// Whether the request certainly never reached a broker (no connection was made).
    static func neverSent(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH].contains(error.errnoCode) { return true }
        return false
    }
}

/// The broker a client talks to now, shared by its copies.
final class BrokerRotation: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    var index: Int { lock.withLock { value } }

    /// Moves to the next broker unless another request already did.
    func moveOn(from index: Int) {
        lock.withLock { if value == index { value = index + 1 } }
    }
}
