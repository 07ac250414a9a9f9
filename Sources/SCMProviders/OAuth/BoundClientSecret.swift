import Foundation

/// What a sealed OAuth client secret holds: the secret together with the only places the
/// runner may send it and the tokens it yields. Whoever can write to the broker's database can
/// change an integration's endpoints, but not what was sealed with the secret, so a runner
/// that sends secrets only to the endpoints sealed with them cannot be turned into an
/// exfiltration tool.
public struct BoundClientSecret: SealedJSON, Sendable, Equatable {
    public var clientSecret: String
    /// The OAuth endpoint base (`oauth.authority`).
    public var authority: String
    /// The SCM's REST API (`api_url`), where new access tokens are used first.
    public var apiURL: String

    enum CodingKeys: String, CodingKey {
        case clientSecret = "client_secret"
        case authority
        case apiURL = "api_url"
    }

    public init(clientSecret: String, authority: String, apiURL: String) {
        self.clientSecret = clientSecret
        self.authority = authority
        self.apiURL = apiURL
    }
}

/// A value sealed as JSON: what goes into a JWE and comes out of it.
public protocol SealedJSON: Codable {}

extension SealedJSON {
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public init(json: String) throws {
        self = try JSONDecoder().decode(Self.self, from: Data(json.utf8))
    }
}
