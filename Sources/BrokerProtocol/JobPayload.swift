import Foundation

/// What an `oauth_exchange` job carries. Everything secret in it is sealed to the runner: the
/// broker sealed the authorization code the moment the callback brought it.
public struct ExchangePayload: Codable, Sendable, Equatable {
    /// JWE: the authorization code.
    public var code: String
    /// JWE: the PKCE verifier, where the provider uses PKCE.
    public var codeVerifier: String?
    public var redirectURI: String
    public var user: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case code, user
        case codeVerifier = "code_verifier"
        case redirectURI = "redirect_uri"
    }

    public init(code: String, codeVerifier: String?, redirectURI: String, user: String) {
        self.code = code
        self.codeVerifier = codeVerifier
        self.redirectURI = redirectURI
        self.user = user
    }
}

/// What a `revoke_connection` job carries: the removed connection's sealed credentials.
public struct RevocationPayload: Codable, Sendable, Equatable {
    public var connectionID: String
    public var user: String
    /// JWE: the connection's `ConnectionCredentials`.
    public var credentials: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case connectionID = "connection_id"
        case user, credentials
    }

    public init(connectionID: String, user: String, credentials: String) {
        self.connectionID = connectionID
        self.user = user
        self.credentials = credentials
    }
}

/// What a `pat_validation` or `credential_validation` job carries: the token sealed (as a
/// `BoundPAT`) to the runner, and for a user's PAT whose it is.
public struct CredentialCheckPayload: Codable, Sendable, Equatable {
    /// JWE: a `BoundPAT`.
    public var token: String
    /// Nil for an organization credential, which belongs to no user.
    public var user: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case token, user
    }

    public init(token: String, user: String?) {
        self.token = token
        self.user = user
    }
}

/// A job's payload, as its kind says it is. On the wire it is the payload object itself.
public enum JobPayload: Sendable, Equatable {
    case exchange(ExchangePayload)
    case revocation(RevocationPayload)
    case credentialCheck(CredentialCheckPayload)

    /// Reads a payload of `kind` (as stored by the broker, or received by the runner).
    public static func decode(kind: JobKind, from data: Data) throws -> JobPayload {
        let decoder = WireFormat.decoder
        switch kind {
        case .oauthExchange: return .exchange(try decoder.decode(ExchangePayload.self, from: data))
        case .revokeConnection: return .revocation(try decoder.decode(RevocationPayload.self, from: data))
        case .patValidation, .credentialValidation: return .credentialCheck(try decoder.decode(CredentialCheckPayload.self, from: data))
        }
    }

    public static func decode(kind: JobKind, from json: String) throws -> JobPayload {
        try decode(kind: kind, from: Data(json.utf8))
    }

    /// Whether this payload is the one `kind` carries.
    public func fits(_ kind: JobKind) -> Bool {
        switch (self, kind) {
        case (.exchange, .oauthExchange), (.revocation, .revokeConnection), (.credentialCheck, .patValidation),
             (.credentialCheck, .credentialValidation): true
        default: false
        }
    }

    /// The user the job acts for; nil for an organization credential.
    public var user: String? {
        switch self {
        case .exchange(let payload): payload.user
        case .revocation(let payload): payload.user
        case .credentialCheck(let payload): payload.user
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .exchange(let payload): try payload.encode(to: encoder)
        case .revocation(let payload): try payload.encode(to: encoder)
        case .credentialCheck(let payload): try payload.encode(to: encoder)
        }
    }

    public func json() throws -> String {
        try WireFormat.string(EncodedPayload(payload: self))
    }

    private struct EncodedPayload: Encodable {
        var payload: JobPayload
        func encode(to encoder: any Encoder) throws { try payload.encode(to: encoder) }
    }
}
