import Foundation

/// Tokens the broker issues are stored only as SHA-256 hashes of the token. They are 256-bit
/// random values, so a plain hash is enough: there is nothing to brute-force.

/// An admin API token.
public struct AdminToken: Sendable, Equatable {
    public var id: String
    public var name: String
    public var tokenHash: String
    public var createdAt: Date

    public init(id: String, name: String, tokenHash: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.tokenHash = tokenHash
        self.createdAt = createdAt
    }
}

/// A one-time token that lets a pending runner register its keys.
public struct RegistrationToken: Sendable, Equatable {
    public var runnerID: String
    public var tokenHash: String
    public var expiresAt: Date

    public init(runnerID: String, tokenHash: String, expiresAt: Date) {
        self.runnerID = runnerID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}

/// A short-lived bearer token a runner obtained with a signed client assertion.
public struct RunnerAccessToken: Sendable, Equatable {
    public var runnerID: String
    public var tokenHash: String
    public var expiresAt: Date

    public init(runnerID: String, tokenHash: String, expiresAt: Date) {
        self.runnerID = runnerID
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
    }
}
