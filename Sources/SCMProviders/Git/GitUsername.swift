/// The username git sends with a token as password, per provider convention.
public enum GitUsername {
    /// - Parameters:
    ///   - isOAuthToken: a user's OAuth access token (rather than a PAT, an organization
    ///     credential or an app's installation token).
    ///   - storedUsername: the username a PAT was given with (Bitbucket app passwords need the
    ///     account's own username).
    public static func forToken(provider: SCMProvider, isOAuthToken: Bool, storedUsername: String?) -> String {
        switch provider {
        // Anything non-empty: Azure DevOps ignores the username but git refuses an empty one.
        case .azureDevOps: storedUsername.flatMap { $0.isEmpty ? nil : $0 } ?? "scm-broker"
        case .github: "x-access-token"
        case .gitlab: "oauth2"
        case .bitbucket:
            isOAuthToken ? "x-token-auth" : (storedUsername.flatMap { $0.isEmpty ? nil : $0 } ?? "x-token-auth")
        }
    }
}
