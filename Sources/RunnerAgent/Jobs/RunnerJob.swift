import Foundation
import SCMProviders

/// A job the broker leased to this runner.
public struct RunnerJob: Decodable, Sendable {
    public enum Kind: String, Decodable, Sendable {
        case oauthExchange = "oauth_exchange"
        case revokeConnection = "revoke_connection"
        case patValidation = "pat_validation"
        case credentialValidation = "credential_validation"
    }

    /// Everything a job kind may carry; secrets in it are JWEs sealed to this runner.
    public struct Payload: Decodable, Sendable {
        public var code: String?
        public var codeVerifier: String?
        public var redirectURI: String?
        public var user: String?
        public var credentials: String?
        /// JWE: a `BoundPAT`.
        public var token: String?

        enum CodingKeys: String, CodingKey {
            case code, user, credentials, token
            case codeVerifier = "code_verifier"
            case redirectURI = "redirect_uri"
        }
    }

    public var id: String
    public var kind: Kind
    public var attempt: Int
    public var integration: RunnerIntegration
    public var payload: Payload
}

/// What the runner reports for a job.
public enum JobResult: Encodable, Sendable, Equatable {
    case connected(SealedConnection)
    case succeeded
    case failed(code: String, message: String)

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .connected(let connection):
            try container.encode("connected", forKey: .outcome)
            try container.encode(connection, forKey: .connection)
        case .succeeded:
            try container.encode("succeeded", forKey: .outcome)
        case .failed(let code, let message):
            try container.encode("failed", forKey: .outcome)
            try container.encode(["code": code, "message": message], forKey: .error)
        }
    }

    enum CodingKeys: String, CodingKey {
        case outcome, connection, error
    }
}

/// A new connection as the broker stores it: credentials sealed, identity in the clear.
public struct SealedConnection: Encodable, Sendable, Equatable {
    public struct User: Encodable, Sendable, Equatable {
        public var id: String
        public var username: String
        public var displayName: String?

        enum CodingKeys: String, CodingKey {
            case id, username
            case displayName = "display_name"
        }
    }

    public var credentials: String
    public var scmUser: User
    public var scopes: [String]
    public var expiresAt: String?

    enum CodingKeys: String, CodingKey {
        case credentials, scopes
        case scmUser = "scm_user"
        case expiresAt = "expires_at"
    }
}

/// What the sealed credentials of a connection hold, once opened by the runner.
public struct ConnectionCredentials: Codable, Sendable {
    public var accessToken: String
    public var refreshToken: String?
    public var tokenType: String?
    public var expiresAt: Date?
    public var scopes: [String]
    public var scmUser: SCMIdentity?
    public var obtainedAt: Date
    /// Where the tokens came from and may go back to (refresh, revoke) and where they are used:
    /// sealed with them, so a changed integration cannot redirect them.
    public var authority: String?
    public var apiURL: String?
    public var clientID: String?
    /// PATs that authenticate with a username (Bitbucket app passwords).
    public var username: String?

    enum CodingKeys: String, CodingKey {
        case scopes, authority, username
        case apiURL = "api_url"
        case clientID = "client_id"
        case scmUser = "scm_user"
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case expiresAt = "expires_at"
        case obtainedAt = "obtained_at"
    }

    public init(accessToken: String, refreshToken: String?, tokenType: String?, expiresAt: Date?, scopes: [String],
                scmUser: SCMIdentity?, obtainedAt: Date, authority: String?, apiURL: String?, clientID: String?) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.scopes = scopes
        self.scmUser = scmUser
        self.obtainedAt = obtainedAt
        self.authority = authority
        self.apiURL = apiURL
        self.clientID = clientID
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return decoder
    }
}
