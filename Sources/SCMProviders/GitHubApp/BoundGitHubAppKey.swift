import Foundation

/// What a sealed GitHub App private key holds: the key and the only API it may mint tokens at
/// (see `BoundClientSecret` for why endpoints are sealed with secrets).
public struct BoundGitHubAppKey: SealedJSON, Sendable, Equatable {
    public var privateKey: String
    public var apiURL: String

    enum CodingKeys: String, CodingKey {
        case privateKey = "private_key"
        case apiURL = "api_url"
    }

    public init(privateKey: String, apiURL: String) {
        self.privateKey = privateKey
        self.apiURL = apiURL
    }
}
