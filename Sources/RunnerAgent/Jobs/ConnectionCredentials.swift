import Foundation
import SCMProviders

/// What the sealed credentials of a connection hold, once opened by the runner. Only runners
/// read this (the broker stores it sealed), so it is the runner's own format, not the wire contract.
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
