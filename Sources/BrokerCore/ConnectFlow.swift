import BrokerProtocol
import Foundation

/// One browser's OAuth authorization for one user and integration, from the redirect to the
/// SCM until the runner reports the token exchange.
public struct ConnectFlow: Sendable, Equatable {
    public static let lifetime: TimeInterval = 600
    /// Creating a PAT at the SCM takes a while: a PAT flow lives longer.
    public static let patLifetime: TimeInterval = 1800

    public enum Status: String, Sendable, Codable {
        /// Sent to the SCM; waiting for the callback. `state` is still unused.
        case started
        /// Callback accepted; the runner exchanges the code.
        case exchanging
        case connected
        case failed
    }

    public var id: String
    /// OAuth (state, code exchange) or PAT (a form whose CSRF token is the `state`).
    public var kind: Connection.Kind
    public var integrationID: String
    public var runnerID: String
    public var user: String
    /// SHA-256 of the OAuth `state` (or of the PAT form's CSRF token): never kept in a usable form.
    public var stateHash: String
    /// SHA-256 of the browser cookie the flow is bound to.
    public var browserHash: String
    /// The PKCE verifier, sealed to the runner (only the runner sends it to the SCM).
    public var sealedCodeVerifier: String?
    public var status: Status
    public var failure: FlowFailure?
    public var jobID: String?
    public var connectionID: String?
    public var createdAt: Date
    public var callbackAt: Date?
    public var completedAt: Date?

    public init(id: String, kind: Connection.Kind = .oauth, integrationID: String, runnerID: String, user: String, stateHash: String,
                browserHash: String, sealedCodeVerifier: String?, status: Status = .started, failure: FlowFailure? = nil, jobID: String? = nil,
                connectionID: String? = nil, createdAt: Date, callbackAt: Date? = nil, completedAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.integrationID = integrationID
        self.runnerID = runnerID
        self.user = user
        self.stateHash = stateHash
        self.browserHash = browserHash
        self.sealedCodeVerifier = sealedCodeVerifier
        self.status = status
        self.failure = failure
        self.jobID = jobID
        self.connectionID = connectionID
        self.createdAt = createdAt
        self.callbackAt = callbackAt
        self.completedAt = completedAt
    }
}

/// Why a flow or job failed: a stable code and words for a person. Never a secret.
extension ConnectFlow {
    public var lifetime: TimeInterval { kind == .pat ? Self.patLifetime : Self.lifetime }
}

public struct FlowFailure: Sendable, Equatable, Codable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

extension FlowFailure {
    /// A failure the broker itself decided (runners report codes of their own).
    public init(code: BrokerErrorCode, message: String) {
        self.init(code: code.rawValue, message: message)
    }

    public func has(_ code: BrokerErrorCode) -> Bool { self.code == code.rawValue }
}
