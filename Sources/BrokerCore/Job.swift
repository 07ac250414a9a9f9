import Foundation
import SCMProviders

/// Work the broker hands to a runner, because only the runner can open the secrets it needs.
/// A job is leased to one runner process at a time; a lease that runs out puts it back in
/// the queue, so a crashed runner loses no job. Its result is accepted once.
public struct Job: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// Exchange an OAuth authorization code for tokens and seal them.
        case oauthExchange = "oauth_exchange"
        /// Revoke a removed connection's tokens at the SCM (best effort).
        case revokeConnection = "revoke_connection"
        /// Check a user's PAT at the SCM and seal it with who it belongs to.
        case patValidation = "pat_validation"
        /// Check an organization credential for an admin, who waits for the answer.
        case credentialValidation = "credential_validation"
    }

    public enum Status: String, Sendable, Codable {
        case queued, leased, completed, cancelled
    }

    /// Leases that may run out before a job is given up (a job that crashes its runner).
    public static let maximumAttempts = 3

    public var id: String
    public var runnerID: String
    public var kind: Kind
    public var integrationID: String
    public var flowID: String?
    /// JSON the runner reads. Holds sealed values only.
    public var payload: String
    public var status: Status
    public var leaseExpiresAt: Date?
    public var attempts: Int
    public var createdAt: Date
    public var completedAt: Date?
    /// What the runner reported, for jobs someone waits on (credential validation).
    public var result: String?

    public init(id: String, runnerID: String, kind: Kind, integrationID: String, flowID: String? = nil, payload: String,
                status: Status = .queued, leaseExpiresAt: Date? = nil, attempts: Int = 0, createdAt: Date, completedAt: Date? = nil,
                result: String? = nil) {
        self.id = id
        self.runnerID = runnerID
        self.kind = kind
        self.integrationID = integrationID
        self.flowID = flowID
        self.payload = payload
        self.status = status
        self.leaseExpiresAt = leaseExpiresAt
        self.attempts = attempts
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.result = result
    }
}

/// What a runner reported for a job.
public enum JobOutcome: Sendable, Equatable {
    /// An OAuth exchange produced this connection.
    case connected(Connection)
    case failed(FlowFailure)
    /// Done, nothing to record (a revoke).
    case succeeded
    /// Kept on the job for whoever waits on it (a credential validation's answer, as JSON).
    case recorded(String)
}

/// How the store took a job result.
public enum JobCompletion: Sendable, Equatable {
    case applied
    /// The job was already completed or cancelled: nothing changed.
    case duplicate
    case notFound
}

extension Job {
    /// The job that revokes `connection`'s tokens at the SCM after the broker dropped them.
    /// `integration` is given when the integration is being deleted with the connection: the
    /// runner then learns from the job how to reach the SCM.
    public static func revocation(of connection: Connection, id: String, now: Date, deletedIntegration integration: Integration? = nil) -> Job {
        let payload = RevocationPayload(connectionID: connection.id, user: connection.user, credentials: connection.credentials.jwe,
                                        integration: integration.map(IntegrationSnapshot.init))
        let json = (try? JSONEncoder().encode(payload)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return Job(id: id, runnerID: connection.runnerID, kind: .revokeConnection, integrationID: connection.integrationID,
                   payload: json, createdAt: now)
    }
}

/// A revoke job's payload: the sealed credentials the runner opens to revoke them.
public struct RevocationPayload: Codable, Sendable, Equatable {
    public var connectionID: String
    public var user: String
    public var credentials: String
    public var integration: IntegrationSnapshot?

    enum CodingKeys: String, CodingKey {
        case connectionID = "connection_id"
        case user, credentials, integration
    }

    public init(connectionID: String, user: String, credentials: String, integration: IntegrationSnapshot? = nil) {
        self.connectionID = connectionID
        self.user = user
        self.credentials = credentials
        self.integration = integration
    }
}

/// What a runner needs of a deleted integration to revoke its connections' tokens.
public struct IntegrationSnapshot: Codable, Sendable, Equatable {
    public var id: String
    public var runnerID: String
    public var name: String
    public var provider: String
    public var url: String
    public var apiURL: String?
    public var oauthFlavor: String?
    public var oauthTenant: String?
    public var oauthAuthority: String?
    public var oauthClientID: String?
    public var oauthClientSecret: String?
    public var oauthClientSecretKeyID: String?

    public init(_ integration: Integration) {
        id = integration.id
        runnerID = integration.runnerID
        name = integration.name
        provider = integration.provider.rawValue
        url = integration.url
        apiURL = integration.apiURL
        oauthFlavor = integration.oauth?.flavor?.rawValue
        oauthTenant = integration.oauth?.tenant
        oauthAuthority = integration.oauth?.authority
        oauthClientID = integration.oauth?.clientID
        oauthClientSecret = integration.oauth?.clientSecret.jwe
        oauthClientSecretKeyID = integration.oauth?.clientSecret.keyID
    }

    /// The integration as it was, for building the runner's view of it.
    public func integration(at date: Date) -> Integration? {
        guard let provider = SCMProvider(rawValue: provider) else { return nil }
        var oauth: OAuthApp?
        if let authority = oauthAuthority, let clientID = oauthClientID, let secret = oauthClientSecret, let keyID = oauthClientSecretKeyID {
            oauth = OAuthApp(flavor: oauthFlavor.flatMap(OAuthFlavor.init(rawValue:)), tenant: oauthTenant, authority: authority,
                             clientID: clientID, clientSecret: SealedSecret(jwe: secret, keyID: keyID, updatedAt: date))
        }
        return Integration(id: id, runnerID: runnerID, name: name, provider: provider, url: url, apiURL: apiURL, oauth: oauth,
                           pat: PATSettings(enabled: false), labels: [], description: "", createdAt: date, updatedAt: date)
    }
}
