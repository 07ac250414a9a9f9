/// A runner-side failure with a message fit for an operator's terminal (never a secret).
public struct RunnerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
