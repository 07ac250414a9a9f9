import Foundation

/// What a sealed PAT holds: the token, the username it goes with (Bitbucket), and the only API
/// the runner may send it to (see `BoundClientSecret`).
public struct BoundPAT: SealedJSON, Sendable, Equatable {
    public var token: String
    public var username: String?
    public var apiURL: String

    enum CodingKeys: String, CodingKey {
        case token, username
        case apiURL = "api_url"
    }

    public init(token: String, username: String?, apiURL: String) {
        self.token = token
        self.username = username
        self.apiURL = apiURL
    }
}
