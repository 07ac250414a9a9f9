/// The kinds of work the broker hands to a runner, because only the runner can open the
/// secrets they need.
public enum JobKind: String, Codable, Sendable, CaseIterable {
    /// Exchange an OAuth authorization code for tokens and seal them.
    case oauthExchange = "oauth_exchange"
    /// Revoke a removed connection's tokens at the SCM (best effort).
    case revokeConnection = "revoke_connection"
    /// Check a user's PAT at the SCM and seal it with who it belongs to.
    case patValidation = "pat_validation"
    /// Check an organization credential for an admin, who waits for the answer.
    case credentialValidation = "credential_validation"

    /// What a successful job reports: a sealed connection, or just that it is done.
    public var successOutcome: JobOutcomeName {
        self == .revokeConnection ? .succeeded : .connected
    }
}
