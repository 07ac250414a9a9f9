import Foundation

/// What a service token may do. The environment service creates environments for users and
/// is trusted to name the user it acts for.
public enum ServiceRole: String, Sendable, Codable, CaseIterable {
    case environments
}

/// A token for a system (not a person) that calls the broker's API, stored hashed.
public struct ServiceToken: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: ServiceRole
    public var tokenHash: String
    public var createdAt: Date

    public init(id: String, name: String, role: ServiceRole, tokenHash: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.tokenHash = tokenHash
        self.createdAt = createdAt
    }
}
