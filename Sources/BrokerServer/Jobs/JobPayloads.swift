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
