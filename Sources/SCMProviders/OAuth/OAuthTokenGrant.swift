/// The tokens a token endpoint granted.
///
/// `description` and the mirror hide the tokens, so printing a grant, interpolating it into a
/// log line or dumping it in a failed test does not leak them.
public struct OAuthTokenGrant: Sendable, Equatable, Codable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var accessToken: String
    /// Absent where the provider or app issues none; rotates on every refresh where present.
    public var refreshToken: String?
    /// Lifetime of the access token in seconds, as granted.
    public var expiresIn: Int?
    /// The scopes the SCM says it granted (may differ from those requested; empty when not said).
    public var scopes: [String]
    /// As the SCM spells it ("Bearer", "bearer", "jwt-bearer").
    public var tokenType: String?

    public init(accessToken: String, refreshToken: String? = nil, expiresIn: Int? = nil, scopes: [String] = [], tokenType: String? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.scopes = scopes
        self.tokenType = tokenType
    }

    public var description: String {
        "OAuthTokenGrant(accessToken: [redacted], refreshToken: \(refreshToken == nil ? "nil" : "[redacted]"), expiresIn: \(expiresIn.map(String.init) ?? "nil"), scopes: \(scopes), tokenType: \(tokenType ?? "nil"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "accessToken": "[redacted]",
            "refreshToken": refreshToken == nil ? "nil" : "[redacted]",
            "expiresIn": expiresIn as Any,
            "scopes": scopes,
            "tokenType": tokenType as Any,
        ], displayStyle: .struct)
    }
}
