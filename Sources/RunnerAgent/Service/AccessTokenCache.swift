import Foundation

/// The runner's broker access token, renewed with a fresh client assertion before it expires.
/// One per runner process, shared by the job loop and the credential endpoint.
public actor AccessTokenCache {
    private let client: BrokerClient
    private let runnerID: String
    private let keys: RunnerKeys
    private var token: AccessToken?
    /// The renewal in progress: concurrent callers wait for it instead of each signing an assertion.
    private var renewal: Task<AccessToken, any Error>?
    /// Renew this long before expiry, so a held poll never carries an expired token.
    private let margin: TimeInterval

    public init(client: BrokerClient, runnerID: String, keys: RunnerKeys, margin: TimeInterval = 120) {
        self.client = client
        self.runnerID = runnerID
        self.keys = keys
        self.margin = margin
    }

    public func current() async throws -> AccessToken {
        if let token, token.expiresAt.timeIntervalSinceNow > margin { return token }
        if let renewal { return try await renewal.value }
        let task = Task { [client, runnerID, keys] in try await client.accessToken(runnerID: runnerID, keys: keys) }
        renewal = task
        defer { renewal = nil }
        let fresh = try await task.value
        token = fresh
        return fresh
    }

    public func invalidate() {
        token = nil
    }
}
