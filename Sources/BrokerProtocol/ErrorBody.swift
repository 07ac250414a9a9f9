/// Every refusal from the broker's API: `{"error":{"code","message",…}}`. Codes are stable;
/// messages are for people and never carry a secret. Further members of `error` (links a client
/// can follow) are the broker's to add; a runner reads code and message.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}

/// An OAuth error body (RFC 6749 §5.2), as the runner token endpoint answers.
public struct OAuthErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var errorDescription: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case error
        case errorDescription = "error_description"
    }

    public init(error: String, errorDescription: String?) {
        self.error = error
        self.errorDescription = errorDescription
    }
}
