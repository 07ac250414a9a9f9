import Foundation

/// Token endpoint requests: code exchange, refresh and revocation.
extension OAuthClient {
    static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    static let jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    /// Exchanges the authorization code from the callback for tokens.
    /// - Parameter codeVerifier: the PKCE verifier; sent only where `usesPKCE`.
    public func codeExchangeRequest(code: String, codeVerifier: String?, clientSecret: String) -> SCMHTTPRequest {
        let verifier: [(String, String)] = usesPKCE ? codeVerifier.map { [("code_verifier", $0)] } ?? [] : []
        let fields: [(String, String)] = switch dialect {
        case .entra:
            [("client_id", clientID), ("scope", scopes.joined(separator: " ")), ("code", code),
             ("redirect_uri", redirectURI), ("grant_type", "authorization_code")] + verifier + [("client_secret", clientSecret)]
        case .azureDevOpsLegacy:
            // The client secret is itself a JWT, sent as the client assertion; the code is the
            // assertion being exchanged.
            [("client_assertion_type", Self.jwtBearerAssertionType), ("client_assertion", clientSecret),
             ("grant_type", Self.jwtBearerGrantType), ("assertion", code), ("redirect_uri", redirectURI)]
        case .github:
            [("client_id", clientID), ("client_secret", clientSecret), ("code", code), ("redirect_uri", redirectURI)] + verifier
        case .gitlab:
            [("client_id", clientID), ("client_secret", clientSecret), ("code", code),
             ("grant_type", "authorization_code"), ("redirect_uri", redirectURI)] + verifier
        case .bitbucket:
            // Client credentials go in the Basic header only.
            [("grant_type", "authorization_code"), ("code", code)]
        }
        return tokenRequest(fields, clientSecret: clientSecret)
    }

    /// Trades a refresh token for new tokens. Every provider here may rotate the refresh
    /// token: the caller must keep the one that comes back.
    public func refreshRequest(refreshToken: String, clientSecret: String) -> SCMHTTPRequest {
        let fields: [(String, String)] = switch dialect {
        case .entra:
            [("client_id", clientID), ("scope", scopes.joined(separator: " ")), ("refresh_token", refreshToken),
             ("grant_type", "refresh_token"), ("client_secret", clientSecret)]
        case .azureDevOpsLegacy:
            [("client_assertion_type", Self.jwtBearerAssertionType), ("client_assertion", clientSecret),
             ("grant_type", "refresh_token"), ("assertion", refreshToken), ("redirect_uri", redirectURI)]
        case .github:
            [("client_id", clientID), ("client_secret", clientSecret), ("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        case .gitlab:
            [("client_id", clientID), ("client_secret", clientSecret), ("refresh_token", refreshToken),
             ("grant_type", "refresh_token"), ("redirect_uri", redirectURI)]
        case .bitbucket:
            [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        }
        return tokenRequest(fields, clientSecret: clientSecret)
    }

    /// Revokes a token on disconnect (best effort). Only GitLab has a plain OAuth revocation
    /// endpoint (RFC 7009); GitHub's needs a different API shape and the others have none, so
    /// those return nil.
    public func revokeRequest(token: String, clientSecret: String) -> SCMHTTPRequest? {
        guard dialect == .gitlab else { return nil }
        return formPost(
            url: "\(base)/oauth/revoke",
            [("client_id", clientID), ("client_secret", clientSecret), ("token", token)],
            authorization: nil)
    }

    private func tokenRequest(_ fields: [(String, String)], clientSecret: String) -> SCMHTTPRequest {
        // Bitbucket authenticates the client with HTTP Basic, client id and secret as they
        // are (it does not form-encode them first as RFC 6749 §2.3.1 would).
        let authorization = dialect == .bitbucket
            ? "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
            : nil
        return formPost(url: tokenEndpoint, fields, authorization: authorization)
    }

    private func formPost(url: String, _ fields: [(String, String)], authorization: String?) -> SCMHTTPRequest {
        var headers: [SCMHTTPHeader] = []
        if let authorization { headers.append(SCMHTTPHeader(name: "Authorization", value: authorization)) }
        headers += [
            SCMHTTPHeader(name: "Content-Type", value: "application/x-www-form-urlencoded"),
            // GitHub answers form-encoded unless asked for JSON.
            SCMHTTPHeader(name: "Accept", value: "application/json"),
            SCMHTTPHeader(name: "User-Agent", value: SCMHTTPRequest.userAgent),
        ]
        return SCMHTTPRequest(method: "POST", url: url, headers: headers, body: Array(FormEncoding.encode(fields).utf8))
    }
}
