/// Whose credential an integration's environments clone with.
public enum CredentialMode: String, Sendable, Codable, CaseIterable {
    /// Each user's own connection (OAuth or PAT).
    case user
    /// Credentials an admin registered for the whole organization.
    case organization
    /// A GitHub App's installation tokens, scoped per repository.
    case githubApp = "github_app"
}

/// What kind of secret a clone credential is: the runner opens and uses each differently.
public enum CredentialKind: String, Sendable, Codable, CaseIterable {
    /// A user's OAuth tokens (refreshable).
    case oauth
    /// A user's personal access token.
    case pat
    /// One of the integration's organization credentials.
    case organization
    /// Nothing sealed: the runner mints an installation token with the integration's app key.
    case githubApp = "github_app"
}
