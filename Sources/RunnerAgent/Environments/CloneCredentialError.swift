import BrokerProtocol

/// Why the runner will not give an environment a git credential. Codes are stable; messages
/// are for people and never carry a secret.
public struct CloneCredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The environment token is missing, forged or expired.
        public static let invalidEnvironmentToken = Code(rawValue: "invalid_environment_token")
        /// Git asked for another repository (or host) than the environment's, or sent no path.
        public static let repositoryNotGranted = Code(rawValue: "repository_not_granted")
        /// The broker refused (`grant_expired`, `grant_revoked`, `needs_reconnect`, …): its code is used.
        public static func broker(_ code: String) -> Code { Code(rawValue: code) }
        /// The SCM refused the refresh token for good: the user must connect again.
        public static let needsReconnect = Code(rawValue: BrokerErrorCode.needsReconnect.rawValue)
        /// Another process kept refreshing for longer than the runner waits.
        public static let refreshInProgress = Code(rawValue: "refresh_in_progress")
        /// The SCM refused the integration's OAuth app (secret, redirect URI, policy): an admin must fix it.
        public static let integrationMisconfigured = Code(rawValue: RunnerFailureCode.integrationMisconfigured.rawValue)
        public static let scmUnreachable = Code(rawValue: "scm_unreachable")
        public static let brokerUnreachable = Code(rawValue: "broker_unreachable")
        /// What was sealed names other endpoints than the clone's: the runner does not send it.
        public static let endpointMismatch = Code(rawValue: RunnerFailureCode.endpointMismatch.rawValue)
        public static let runnerCannotOpen = Code(rawValue: RunnerFailureCode.runnerCannotOpen.rawValue)
        public static let githubAppKeyInvalid = Code(rawValue: "github_app_key_invalid")
        public static let githubApp = Code(rawValue: "github_app_refused")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
