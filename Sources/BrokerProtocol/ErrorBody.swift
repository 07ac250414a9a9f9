/// Every refusal from the broker's API: `{"error":{"code","message",…}}`. Codes are stable;
/// messages are for people and never carry a secret. Further members of `error` are links a
/// client can follow (`oauth_url`, `pat_url`, …), flat beside code and message.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        public var details: [String: String]

        public init(code: String, message: String, details: [String: String] = [:]) {
            self.code = code
            self.message = message
            self.details = details
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            code = try container.decode(String.self, forKey: Key("code"))
            message = try container.decode(String.self, forKey: Key("message"))
            details = [:]
            for key in container.allKeys where key.stringValue != "code" && key.stringValue != "message" {
                if let value = try? container.decode(String.self, forKey: key) { details[key.stringValue] = value }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(code, forKey: Key("code"))
            try container.encode(message, forKey: Key("message"))
            for (key, value) in details.sorted(by: { $0.key < $1.key }) where key != "code" && key != "message" {
                try container.encode(value, forKey: Key(key))
            }
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    public var error: Detail

    public init(code: String, message: String, details: [String: String] = [:]) {
        error = Detail(code: code, message: message, details: details)
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
