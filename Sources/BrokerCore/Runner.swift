import Foundation

/// A machine that creates development environments. It holds the private keys that open
/// everything the broker seals for it.
public struct Runner: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// Created by an admin; waiting for the runner to register its keys.
        case pending
        /// Keys registered: secrets can be sealed to it and it can authenticate.
        case registered
    }

    public var id: String
    public var name: String
    public var status: Status
    public var encryptionKey: RunnerPublicKey?
    public var signingKey: RunnerPublicKey?
    public var createdAt: Date
    public var registeredAt: Date?
    public var lastSeenAt: Date?

    public init(id: String, name: String, status: Status, encryptionKey: RunnerPublicKey? = nil,
                signingKey: RunnerPublicKey? = nil, createdAt: Date, registeredAt: Date? = nil, lastSeenAt: Date? = nil) {
        self.id = id
        self.name = name
        self.status = status
        self.encryptionKey = encryptionKey
        self.signingKey = signingKey
        self.createdAt = createdAt
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
    }
}

/// A public key a runner registered, kept as its JWK with the RFC 7638 thumbprint as id.
public struct RunnerPublicKey: Sendable, Equatable {
    public var keyID: String
    public var jwk: String

    public init(keyID: String, jwk: String) {
        self.keyID = keyID
        self.jwk = jwk
    }
}
