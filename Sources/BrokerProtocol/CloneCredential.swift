import Foundation

/// The credential the broker hands out for an environment, still sealed to the runner.
public struct SealedCloneCredential: Codable, Sendable, Equatable {
    public var kind: CredentialKind
    /// The user's connection (`oauth`, `pat`) and its version, for single-flight refresh.
    public var connectionID: String?
    public var version: Int?
    /// JWE: `ConnectionCredentials` sealed to the runner; nil for `github_app`.
    public var sealed: String?
    public var expiresAt: Date?
    /// The username an organization credential was registered with (Bitbucket app passwords).
    public var username: String?
    public var organizationCredentialID: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, version, sealed, username
        case connectionID = "connection_id"
        case expiresAt = "expires_at"
        case organizationCredentialID = "organization_credential_id"
    }

    public init(kind: CredentialKind, connectionID: String? = nil, version: Int? = nil, sealed: String? = nil, expiresAt: Date? = nil,
                username: String? = nil, organizationCredentialID: String? = nil) {
        self.kind = kind
        self.connectionID = connectionID
        self.version = version
        self.sealed = sealed
        self.expiresAt = expiresAt
        self.username = username
        self.organizationCredentialID = organizationCredentialID
    }
}

/// `POST /runner/v1/environments/{id}/clone-credential`'s answer: the grant, the integration
/// (secrets sealed) and the credential to clone with.
public struct CloneCredentialResponse: Codable, Sendable, Equatable {
    public var environment: EnvironmentGrant
    public var integration: RunnerIntegration
    public var credential: SealedCloneCredential

    public init(environment: EnvironmentGrant, integration: RunnerIntegration, credential: SealedCloneCredential) {
        self.environment = environment
        self.integration = integration
        self.credential = credential
    }
}

/// `POST /runner/v1/environments/{id}/refusals`: the runner refused an environment's git
/// request (another repository, no path); the broker records it in the audit log.
public struct RefusalReport: Codable, Sendable, Equatable {
    /// A stable code (`repository_not_granted`).
    public var reason: String
    /// What git asked for, without credentials.
    public var requested: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case reason, requested
    }

    public init(reason: String, requested: String?) {
        self.reason = reason
        self.requested = requested
    }
}

/// The broker's answer to a refusal report.
public struct RefusalReceipt: Codable, Sendable, Equatable {
    /// Always `recorded`.
    public var status: String

    public init(status: String = "recorded") {
        self.status = status
    }
}
