/// The URL the user's browser is sent to, with each dialect's parameters in its documented
/// order.
extension OAuthClient {
    /// - Parameters:
    ///   - state: the anti-forgery value the callback must return.
    ///   - codeChallenge: the PKCE S256 challenge; ignored where PKCE is not supported
    ///     (`usesPKCE` false), omitted when nil.
    public func authorizeURL(state: String, codeChallenge: String?) -> String {
        let challenge: [(String, String)] = usesPKCE
            ? codeChallenge.map { [("code_challenge", $0), ("code_challenge_method", "S256")] } ?? []
            : []
        let scope = scopes.joined(separator: " ")
        let query: [(String, String)] = switch dialect {
        case .entra:
            [("client_id", clientID), ("response_type", "code"), ("redirect_uri", redirectURI),
             ("response_mode", "query"), ("scope", scope), ("state", state)] + challenge
        case .azureDevOpsLegacy:
            // "Assertion": legacy Azure DevOps OAuth's own response type; the code it returns
            // is exchanged as a JWT-bearer assertion.
            [("client_id", clientID), ("response_type", "Assertion"), ("state", state),
             ("scope", scope), ("redirect_uri", redirectURI)]
        case .github:
            [("client_id", clientID), ("redirect_uri", redirectURI), ("scope", scope), ("state", state)] + challenge
        case .gitlab:
            [("client_id", clientID), ("redirect_uri", redirectURI), ("response_type", "code"),
             ("state", state), ("scope", scope)] + challenge
        case .bitbucket:
            [("client_id", clientID), ("response_type", "code"), ("state", state)]
        }
        return authorizeEndpoint + "?" + FormEncoding.encode(query)
    }
}
