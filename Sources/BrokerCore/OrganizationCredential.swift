import Foundation

/// An organization-managed PAT, sealed to the runner, with who it belongs to at the SCM.
/// Several spread the SCM's rate limits: they are used in turn, skipping one that is limited.
public struct OrganizationCredential: Sendable, Equatable {
    public var id: String
    public var integrationID: String
    public var username: String?
    public var credentials: SealedSecret
    public var scmUser: SCMUser
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var rateLimitedUntil: Date?

    public init(id: String, integrationID: String, username: String?, credentials: SealedSecret, scmUser: SCMUser, createdAt: Date,
                lastUsedAt: Date? = nil, rateLimitedUntil: Date? = nil) {
        self.id = id
        self.integrationID = integrationID
        self.username = username
        self.credentials = credentials
        self.scmUser = scmUser
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.rateLimitedUntil = rateLimitedUntil
    }
}
