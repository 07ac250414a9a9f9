import BrokerProtocol

/// A runner-side failure with a stable code (reported to the broker when it fails a job) and a
/// message fit for an operator's terminal (never a secret).
public struct RunnerError: Error, CustomStringConvertible, Sendable {
    public let code: RunnerFailureCode
    public let message: String

    public init(_ code: RunnerFailureCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(_ message: String) {
        self.init(.runnerError, message)
    }

    public var description: String { message }
}
