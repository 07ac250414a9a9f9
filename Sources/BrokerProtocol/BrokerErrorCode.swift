/// The stable codes of the broker's errors (`{"error":{"code",…}}`), of failed connect
/// flows and of refusals in the audit log. Clients and runners branch on these; the messages
/// beside them are for people. One list, so that a code is spelt one way everywhere.
public struct BrokerErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// `http_NNN` for an HTTP status the broker has no code of its own for.
    public static func http(_ status: Int) -> BrokerErrorCode { BrokerErrorCode("http_\(status)") }

    /// The request is malformed: a field is missing, unknown or of the wrong type or form.
    public static let invalidRequest = BrokerErrorCode("invalid_request")
    /// No valid bearer token (or registration token) for this route.
    public static let unauthorized = BrokerErrorCode("unauthorized")
    /// No such resource.
    public static let notFound = BrokerErrorCode("not_found")
    /// A name is in use, or the resource changed while the request was made.
    public static let conflict = BrokerErrorCode("conflict")
    /// The route exists, not with this method.
    public static let methodNotAllowed = BrokerErrorCode("method_not_allowed")
    /// The body's content type is not one this route reads.
    public static let unsupportedMediaType = BrokerErrorCode("unsupported_media_type")
    /// Request bodies are limited to 64 KiB.
    public static let payloadTooLarge = BrokerErrorCode("payload_too_large")
    /// The store does not answer or its schema is not current (`/readyz`).
    public static let notReady = BrokerErrorCode("not_ready")
    /// A fault of the broker's; details only in its log.
    public static let internalError = BrokerErrorCode("internal_error")
    /// Secrets can only be sealed to a runner that registered its keys.
    public static let runnerNotRegistered = BrokerErrorCode("runner_not_registered")
    /// Changing where an OAuth app's secret may go needs the secret again.
    public static let clientSecretRequired = BrokerErrorCode("client_secret_required")
    /// Changing where a GitHub App key may be used needs the key again.
    public static let privateKeyRequired = BrokerErrorCode("private_key_required")
    /// The SCM (Azure DevOps Server) has no OAuth for third-party apps.
    public static let oauthNotSupported = BrokerErrorCode("oauth_not_supported")
    /// The runner did not pick up the work in time.
    public static let runnerOffline = BrokerErrorCode("runner_offline")
    /// The runner answered something the broker cannot use.
    public static let runnerError = BrokerErrorCode("runner_error")
    /// The runner did not finish the job after several leases.
    public static let runnerFailed = BrokerErrorCode("runner_failed")
    /// The integration was removed while work for it was queued.
    public static let integrationDeleted = BrokerErrorCode("integration_deleted")
    /// No integration of the runner serves the repository.
    public static let noIntegration = BrokerErrorCode("no_integration")
    /// Several integrations serve the repository equally well.
    public static let ambiguousIntegration = BrokerErrorCode("ambiguous_integration")
    /// The user has no connection for the integration: the error carries links to connect.
    public static let scmAuthorizationRequired = BrokerErrorCode("scm_authorization_required")
    /// The SCM refused the user's credentials for good: the user must connect again.
    public static let needsReconnect = BrokerErrorCode("needs_reconnect")
    /// The integration is in organization mode without credentials.
    public static let noOrganizationCredentials = BrokerErrorCode("no_organization_credentials")
    /// Every organization credential is rate limited.
    public static let organizationCredentialsExhausted = BrokerErrorCode("organization_credentials_exhausted")
    /// The integration's GitHub App was removed.
    public static let noGithubApp = BrokerErrorCode("no_github_app")
    /// No such environment for this runner.
    public static let environmentNotFound = BrokerErrorCode("environment_not_found")
    /// The environment's clone grant was revoked.
    public static let grantRevoked = BrokerErrorCode("grant_revoked")
    /// The environment's clone grant expired.
    public static let grantExpired = BrokerErrorCode("grant_expired")
    /// No such connection for this environment.
    public static let connectionNotFound = BrokerErrorCode("connection_not_found")
    /// The refresh lease ran out or is another caller's.
    public static let leaseLost = BrokerErrorCode("lease_lost")
    /// Only a flow whose runner was offline can be retried, within its lifetime.
    public static let notRetryable = BrokerErrorCode("not_retryable")
    /// The connect flow's lifetime ended.
    public static let flowExpired = BrokerErrorCode("flow_expired")
}
