import Foundation

/// A single-use permission for one browser visit to connect `user` to an integration, handed
/// out as a link by the environment service. Stored as the hash of the ticket.
public struct ConnectTicket: Sendable, Equatable {
    public static let lifetime: TimeInterval = 600

    public var tokenHash: String
    public var user: String
    public var integrationID: String
    public var expiresAt: Date

    public init(tokenHash: String, user: String, integrationID: String, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.user = user
        self.integrationID = integrationID
        self.expiresAt = expiresAt
    }
}
