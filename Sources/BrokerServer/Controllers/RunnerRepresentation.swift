import BrokerCore
import Foundation

/// A runner as the admin API shows it: never any key material beyond key ids.
struct RunnerRepresentation: Encodable {
    var id: String
    var name: String
    var status: String
    var encryptionKeyID: String?
    var signingKeyID: String?
    var createdAt: Date
    var registeredAt: Date?
    var lastSeenAt: Date?

    init(_ runner: Runner) {
        id = runner.id
        name = runner.name
        status = runner.status.rawValue
        encryptionKeyID = runner.encryptionKey?.keyID
        signingKeyID = runner.signingKey?.keyID
        createdAt = runner.createdAt
        registeredAt = runner.registeredAt
        lastSeenAt = runner.lastSeenAt
    }
}

/// The one response that shows a registration token, at creation.
struct CreatedRunnerRepresentation: Encodable {
    var id: String
    var name: String
    var status: String
    var registrationToken: String
    var registrationExpiresAt: Date
}
