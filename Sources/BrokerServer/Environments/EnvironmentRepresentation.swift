import BrokerCore
import Foundation

/// An environment's clone grant as the environment API shows it.
struct EnvironmentRepresentation: Encodable {
    var id: String
    var runner: String
    var integration: String
    var user: String
    var repositoryUrl: String
    var cloneUrl: String
    var access: String
    var credentialMode: String
    var status: String
    var createdAt: Date
    var expiresAt: Date
    var revokedAt: Date?

    init(_ grant: CloneGrant, now: Date) {
        id = grant.id
        runner = grant.runnerID
        integration = grant.integrationID
        user = grant.user
        repositoryUrl = grant.repositoryURL
        cloneUrl = grant.cloneURL
        access = grant.access.rawValue
        credentialMode = grant.credentialMode.rawValue
        status = grant.status(at: now).rawValue
        createdAt = grant.createdAt
        expiresAt = grant.expiresAt
        revokedAt = grant.revokedAt
    }
}
