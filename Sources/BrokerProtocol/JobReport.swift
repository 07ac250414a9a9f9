import Foundation

/// The outcome a runner reports for a job.
public enum JobOutcomeName: String, Codable, Sendable, CaseIterable {
    case connected, succeeded, failed
}

/// What a runner reports for a job: `POST /runner/v1/jobs/{id}/result`.
/// `{"outcome":"connected","connection":{…}}`, `{"outcome":"succeeded"}` or
/// `{"outcome":"failed","error":{"code","message"}}`.
public enum JobReport: Codable, Sendable, Equatable {
    /// An exchange or a credential check produced this connection (sealed to the runner).
    case connected(SealedConnection)
    /// Done, nothing to record (a revocation).
    case succeeded
    case failed(ReportedFailure)

    enum CodingKeys: String, CodingKey, CaseIterable {
        case outcome, connection, error
    }

    public var outcome: JobOutcomeName {
        switch self {
        case .connected: .connected
        case .succeeded: .succeeded
        case .failed: .failed
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(JobOutcomeName.self, forKey: .outcome) {
        case .connected: self = .connected(try container.decode(SealedConnection.self, forKey: .connection))
        case .succeeded: self = .succeeded
        case .failed: self = .failed(try container.decode(ReportedFailure.self, forKey: .error))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(outcome, forKey: .outcome)
        switch self {
        case .connected(let connection): try container.encode(connection, forKey: .connection)
        case .succeeded: break
        case .failed(let failure): try container.encode(failure, forKey: .error)
        }
    }
}

/// A stable code and a message for people (never a secret).
public struct ReportedFailure: Codable, Sendable, Equatable {
    public var code: String
    public var message: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, message
    }

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `message` may be left out.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(String.self, forKey: .code)
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
    }
}

/// A new connection as the broker stores it: credentials sealed to the runner, the SCM
/// identity in the clear.
public struct SealedConnection: Codable, Sendable, Equatable {
    /// JWE: the `ConnectionCredentials`, sealed to the reporting runner's encryption key.
    public var credentials: String
    public var scmUser: ReportedSCMUser
    public var scopes: [String]
    public var expiresAt: Date?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case credentials, scopes
        case scmUser = "scm_user"
        case expiresAt = "expires_at"
    }

    public init(credentials: String, scmUser: ReportedSCMUser, scopes: [String], expiresAt: Date?) {
        self.credentials = credentials
        self.scmUser = scmUser
        self.scopes = scopes
        self.expiresAt = expiresAt
    }

    /// `scopes` may be left out: not every SCM says which scopes it granted.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        credentials = try container.decode(String.self, forKey: .credentials)
        scmUser = try container.decode(ReportedSCMUser.self, forKey: .scmUser)
        scopes = try container.decodeIfPresent([String].self, forKey: .scopes) ?? []
        expiresAt = try container.decodeIfPresent(Date.self, forKey: .expiresAt)
    }
}

/// Who the SCM says a credential belongs to.
public struct ReportedSCMUser: Codable, Sendable, Equatable {
    public var id: String
    public var username: String
    public var displayName: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, username
        case displayName = "display_name"
    }

    public init(id: String, username: String, displayName: String?) {
        self.id = id
        self.username = username
        self.displayName = displayName
    }
}

/// The broker's answer to a job report.
public struct JobReportReceipt: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Recorded now.
        case accepted
        /// Already completed or withdrawn: a repeated report changes nothing.
        case duplicate
    }

    public var status: Status

    public init(status: Status) {
        self.status = status
    }
}
