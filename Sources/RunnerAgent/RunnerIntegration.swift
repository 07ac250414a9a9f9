import BrokerCrypto
import SCMProviders

/// An integration as the broker hands it to its runner.
public struct RunnerIntegration: Decodable, Sendable {
    public struct OAuth: Decodable, Sendable {
        public var flavor: String?
        public var tenant: String?
        public var authority: String
        public var clientID: String
        /// JWE compact, sealed to this runner's encryption key.
        public var clientSecret: String

        enum CodingKeys: String, CodingKey {
            case flavor, tenant, authority
            case clientID = "client_id"
            case clientSecret = "client_secret"
        }
    }

    public struct PAT: Decodable, Sendable {
        public var enabled: Bool
    }

    public var id: String
    public var name: String
    public var provider: String
    public var url: String
    /// Where the SCM's REST API is (the "who am I" call, later PAT checks).
    public var apiURL: String
    public var callbackURL: String
    public var oauth: OAuth?
    public var pat: PAT
    /// Where git traffic goes when not the SCM's own host.
    public var gitURL: String?
    public var githubApp: GitHubApp?

    public struct GitHubApp: Decodable, Sendable {
        public var appID: String
        public var installationID: String
        /// JWE compact: a `BoundGitHubAppKey` sealed to this runner.
        public var privateKey: String

        enum CodingKeys: String, CodingKey {
            case appID = "app_id"
            case installationID = "installation_id"
            case privateKey = "private_key"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, name, provider, url, oauth, pat
        case callbackURL = "callback_url"
        case apiURL = "api_url"
        case gitURL = "git_url"
        case githubApp = "github_app"
    }

    /// Opens the sealed client secret with the runner's key, and checks that the endpoints it
    /// was sealed with are the integration's: a secret goes only where it was bound to go.
    /// The plaintext stays in memory only for as long as the caller keeps it.
    public func openClientSecret(with keys: RunnerKeys) throws -> BoundClientSecret? {
        guard let oauth else { return nil }
        let text = try JWE.openString(oauth.clientSecret, with: keys.encryption)
        guard let bound = try? BoundClientSecret(json: text) else {
            throw RunnerError("the sealed client secret is not in the expected form; enter it again")
        }
        guard bound.authority == oauth.authority, bound.apiURL == apiURL else {
            throw RunnerError("the integration's endpoints differ from those sealed with its client secret; an admin must enter the client secret again")
        }
        return bound
    }
}
