import Foundation

/// `POST /runner/v1/connections/{id}/refresh`: asks for the right to refresh `version` of a
/// connection's token, for the environment that needs it.
public struct RefreshRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var environment: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, environment
    }

    public init(version: Int, environment: String) {
        self.version = version
        self.environment = environment
    }
}

/// The broker's answer to a `RefreshRequest`.
public struct RefreshAnswer: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// This caller refreshes, holding `lease`.
        case acquired
        /// Another process is refreshing: ask again after `retry_after_ms`.
        case held
        /// A newer version exists: `credential` carries it.
        case current
    }

    public var status: Status
    public var lease: String?
    public var leaseExpiresAt: Date?
    public var retryAfterMs: Int?
    public var credential: SealedCloneCredential?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case status, lease, credential
        case leaseExpiresAt = "lease_expires_at"
        case retryAfterMs = "retry_after_ms"
    }

    public init(status: Status, lease: String? = nil, leaseExpiresAt: Date? = nil, retryAfterMs: Int? = nil,
                credential: SealedCloneCredential? = nil) {
        self.status = status
        self.lease = lease
        self.leaseExpiresAt = leaseExpiresAt
        self.retryAfterMs = retryAfterMs
        self.credential = credential
    }
}

/// `POST /runner/v1/connections/{id}/refresh-result`: the lease holder reports the new sealed
/// credentials (stored before the runner uses them) or why the SCM refused.
public struct RefreshReport: Codable, Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// `credentials`: the new `ConnectionCredentials`, sealed to the runner.
        case refreshed(credentials: String, expiresAt: Date?, scopes: [String])
        /// `permanent`: the refresh token is dead and the user must connect again.
        case failed(code: String, permanent: Bool)
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var code: String
        public var message: String?
        public var permanent: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case code, message, permanent
        }
    }

    public var lease: String
    public var environment: String
    public var outcome: Outcome

    enum CodingKeys: String, CodingKey, CaseIterable {
        case lease, environment, outcome, credentials, scopes, error
        case expiresAt = "expires_at"
    }

    enum OutcomeName: String, Codable, CaseIterable {
        case refreshed, failed
    }

    public init(lease: String, environment: String, outcome: Outcome) {
        self.lease = lease
        self.environment = environment
        self.outcome = outcome
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lease = try container.decode(String.self, forKey: .lease)
        environment = try container.decode(String.self, forKey: .environment)
        switch try container.decode(OutcomeName.self, forKey: .outcome) {
        case .refreshed:
            outcome = .refreshed(credentials: try container.decode(String.self, forKey: .credentials),
                                 expiresAt: try container.decodeIfPresent(Date.self, forKey: .expiresAt),
                                 scopes: try container.decodeIfPresent([String].self, forKey: .scopes) ?? [])
        case .failed:
            let failure = try container.decode(Failure.self, forKey: .error)
            outcome = .failed(code: failure.code, permanent: failure.permanent ?? false)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lease, forKey: .lease)
        try container.encode(environment, forKey: .environment)
        switch outcome {
        case .refreshed(let credentials, let expiresAt, let scopes):
            try container.encode(OutcomeName.refreshed, forKey: .outcome)
            try container.encode(credentials, forKey: .credentials)
            try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
            try container.encode(scopes, forKey: .scopes)
        case .failed(let code, let permanent):
            try container.encode(OutcomeName.failed, forKey: .outcome)
            try container.encode(Failure(code: code, message: nil, permanent: permanent), forKey: .error)
        }
    }
}

/// The broker's answer to a `RefreshReport`: the connection's version now.
public struct RefreshReceipt: Codable, Sendable, Equatable {
    public var version: Int

    public init(version: Int) {
        self.version = version
    }
}
