import BrokerProtocol
import Foundation
import SCMProviders

/// What an environment may clone: one repository, at one access level, until it expires or is
/// revoked. The environment's id is the grant's.
public struct CloneGrant: Sendable, Equatable {
    public typealias Access = RepositoryAccess

    public typealias Status = EnvironmentGrant.Status

    /// Shortest and longest lifetimes an environment service may ask for.
    public static let minimumLifetime: TimeInterval = 60
    public static let maximumLifetime: TimeInterval = 7 * 24 * 3600
    public static let defaultLifetime: TimeInterval = 3600

    public var id: String
    public var runnerID: String
    public var integrationID: String
    public var user: String
    /// Canonical https URL (see `RepositoryURL`).
    public var repositoryURL: String
    /// Where git reaches the repository: the integration's git URL (if any) and the repository's path.
    public var cloneURL: String
    public var access: Access
    public var credentialMode: CredentialMode
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(id: String, runnerID: String, integrationID: String, user: String, repositoryURL: String, cloneURL: String,
                access: Access, credentialMode: CredentialMode, createdAt: Date, expiresAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.runnerID = runnerID
        self.integrationID = integrationID
        self.user = user
        self.repositoryURL = repositoryURL
        self.cloneURL = cloneURL
        self.access = access
        self.credentialMode = credentialMode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    public func status(at now: Date) -> Status {
        if revokedAt != nil { return .revoked }
        return now < expiresAt ? .active : .expired
    }
}
