import Foundation
import SCMProviders

/// An environment's clone grant, as the environments API shows it and as the runner receives it.
public struct EnvironmentGrant: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, expired, revoked
    }

    public var id: String
    public var runner: String
    public var integration: String
    public var user: String
    /// The repository's canonical https URL.
    public var repositoryURL: String
    /// Where git fetches it (the integration's `git_url`, if any, plus the repository's path).
    public var cloneURL: String
    public var access: RepositoryAccess
    public var credentialMode: CredentialMode
    public var status: Status
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, runner, integration, user, access, status
        case repositoryURL = "repository_url"
        case cloneURL = "clone_url"
        case credentialMode = "credential_mode"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }

    public init(id: String, runner: String, integration: String, user: String, repositoryURL: String, cloneURL: String,
                access: RepositoryAccess, credentialMode: CredentialMode, status: Status, createdAt: Date, expiresAt: Date, revokedAt: Date?) {
        self.id = id
        self.runner = runner
        self.integration = integration
        self.user = user
        self.repositoryURL = repositoryURL
        self.cloneURL = cloneURL
        self.access = access
        self.credentialMode = credentialMode
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}
