import Foundation

/// The runner's broker access token, renewed with a fresh client assertion before it expires.
actor AccessTokenCache {
    private let client: BrokerClient
    private let runnerID: String
    private let keys: RunnerKeys
    private var token: AccessToken?
    /// Renew this long before expiry, so a held poll never carries an expired token.
    private let margin: TimeInterval = 120

    init(client: BrokerClient, runnerID: String, keys: RunnerKeys) {
        self.client = client
        self.runnerID = runnerID
        self.keys = keys
    }

    func current() async throws -> AccessToken {
        if let token, token.expiresAt.timeIntervalSinceNow > margin { return token }
        let fresh = try await client.accessToken(runnerID: runnerID, keys: keys)
        token = fresh
        return fresh
    }

    func invalidate() {
        token = nil
    }
}
