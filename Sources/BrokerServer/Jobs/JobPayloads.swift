import Foundation

/// What an `oauth_exchange` job carries. Everything secret in it is sealed to the runner:
/// the broker sealed the authorization code the moment the callback brought it.
struct ExchangePayload: Codable {
    /// JWE: the authorization code.
    var code: String
    /// JWE: the PKCE verifier, where the provider uses PKCE.
    var codeVerifier: String?
    var redirectURI: String
    var user: String

    enum CodingKeys: String, CodingKey {
        case code, user
        case codeVerifier = "code_verifier"
        case redirectURI = "redirect_uri"
    }

    func json() -> String {
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// What a `pat_validation` or `credential_validation` job carries: the PAT sealed (as a
/// `BoundPAT`) to the runner, and for a user's PAT whose it is.
struct PATValidationPayload: Codable {
    /// JWE: a `BoundPAT`.
    var token: String
    var user: String?

    func json() -> String {
        String(decoding: (try? JSONEncoder().encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// The user a job acts for, whatever its kind.
struct PayloadUser: Decodable {
    var user: String?
}
