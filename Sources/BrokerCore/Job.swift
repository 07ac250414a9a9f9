import BrokerProtocol
import Foundation
import SCMProviders

/// Work the broker hands to a runner, because only the runner can open the secrets it needs.
/// A job is leased to one runner process at a time; a lease that runs out puts it back in
/// the queue, so a crashed runner loses no job. Its result is accepted once.
public struct Job: Sendable, Equatable {
    /// The wire contract's job kinds: one definition for broker and runner.
    public typealias Kind = JobKind

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

extension Job {
    /// A queued job whose payload is written from its wire type, so that the runner reads it back
    /// as the same type.
    public init(id: String, runnerID: String, kind: Kind, integrationID: String, flowID: String? = nil, payload: JobPayload, createdAt: Date) {
        precondition(payload.fits(kind), "a \(kind.rawValue) job cannot carry this payload")
        self.init(id: id, runnerID: runnerID, kind: kind, integrationID: integrationID, flowID: flowID,
                  payload: (try? payload.json()) ?? "{}", createdAt: createdAt)
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
    /// broker then keeps with the job what the runner needs to know of it.
    public static func revocation(of connection: Connection, id: String, now: Date, deletedIntegration integration: Integration? = nil) -> Job {
        let stored = StoredRevocation(payload: RevocationPayload(connectionID: connection.id, user: connection.user,
                                                                 credentials: connection.credentials.jwe),
                                      integration: integration.map(IntegrationSnapshot.init))
        let json = (try? WireFormat.string(stored)) ?? "{}"
        return Job(id: id, runnerID: connection.runnerID, kind: .revokeConnection, integrationID: connection.integrationID,
                   payload: json, createdAt: now)
    }

    /// The payload as its kind says it is; nil when the stored JSON is not (a bug or tampering).
    public var decodedPayload: JobPayload? {
        try? JobPayload.decode(kind: kind, from: payload)
    }

    /// For a revocation whose integration was deleted with the connection: the integration as it was.
    public var deletedIntegration: IntegrationSnapshot? {
        guard kind == .revokeConnection else { return nil }
        return (try? WireFormat.decode(StoredRevocation.self, from: payload))?.integration
    }
}

/// A revocation job as the broker stores it: the wire payload, plus (broker-side only) a
/// snapshot of the integration when it was deleted along with the connection.
struct StoredRevocation: Codable {
    var payload: RevocationPayload
    var integration: IntegrationSnapshot?

    enum CodingKeys: String, CodingKey {
        case integration
    }

    init(payload: RevocationPayload, integration: IntegrationSnapshot?) {
        self.payload = payload
        self.integration = integration
    }

    init(from decoder: any Decoder) throws {
        payload = try RevocationPayload(from: decoder)
        integration = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(IntegrationSnapshot.self, forKey: .integration)
    }

    func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(integration, forKey: .integration)
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
