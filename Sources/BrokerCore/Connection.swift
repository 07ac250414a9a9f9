import Foundation

/// A user's credentials for one integration, sealed to the integration's runner.
public struct Connection: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case oauth, pat
    }

    public enum Status: String, Sendable, Codable {
        case active
        /// The SCM refused the credentials for good; the user has to connect again.
        case needsReconnect = "needs_reconnect"
    }

    public var id: String
    public var user: String
    public var integrationID: String
    public var runnerID: String
    public var kind: Kind
    public var scmUser: SCMUser
    /// Access token, refresh token, expiry and scopes as one JWE only the runner opens.
    public var credentials: SealedSecret
    public var scopes: [String]
    public var expiresAt: Date?
    public var status: Status
    public var statusReason: String?
    /// Increases with every stored refresh: a refresh is accepted only for the version it read.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, user: String, integrationID: String, runnerID: String, kind: Kind, scmUser: SCMUser,
                credentials: SealedSecret, scopes: [String], expiresAt: Date?, status: Status = .active,
                statusReason: String? = nil, version: Int = 1, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.user = user
        self.integrationID = integrationID
        self.runnerID = runnerID
        self.kind = kind
        self.scmUser = scmUser
        self.credentials = credentials
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.status = status
        self.statusReason = statusReason
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Who the user is at the SCM. Not a secret.
public struct SCMUser: Sendable, Equatable, Codable {
    public var id: String
    public var username: String
    public var displayName: String?

    public init(id: String, username: String, displayName: String?) {
        self.id = id
        self.username = username
        self.displayName = displayName
    }
}
