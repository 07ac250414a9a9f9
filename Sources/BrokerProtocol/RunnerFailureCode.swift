/// Stable codes a runner reports when it fails a job, besides the SCM-facing codes of
/// `OAuthFailure.Code` and `PATFailure.Code`. The broker shows them to people and keeps them in
/// flows, audit events and validation answers; it accepts any code of a–z and `_`.
public struct RunnerFailureCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// What was sealed names other endpoints than those the job asks for: the runner refuses
    /// to send a secret or token anywhere it was not bound to.
    public static let endpointMismatch = RunnerFailureCode(rawValue: "endpoint_mismatch")
    /// A sealed secret is not in the form the runner expects (sealed by an older broker, or garbage).
    public static let sealedFormInvalid = RunnerFailureCode(rawValue: "sealed_form_invalid")
    /// The runner cannot open what the broker sealed for it (keys replaced without registering again).
    public static let runnerCannotOpen = RunnerFailureCode(rawValue: "runner_cannot_open")
    /// The job is missing what its kind needs.
    public static let incompleteJob = RunnerFailureCode(rawValue: "incomplete_job")
    /// The runner cannot read the job (a kind or provider newer than the runner): upgrade it.
    public static let unsupportedJob = RunnerFailureCode(rawValue: "unsupported_job")
    /// The broker's answer is not in a form this runner reads (a newer broker).
    public static let unreadableAnswer = RunnerFailureCode(rawValue: "unreadable_answer")
    /// Anything else that went wrong on the runner.
    public static let runnerError = RunnerFailureCode(rawValue: "runner_error")
    /// The SCM refused the integration's OAuth app during a refresh: an admin must fix it.
    public static let integrationMisconfigured = RunnerFailureCode(rawValue: "integration_misconfigured")
}
