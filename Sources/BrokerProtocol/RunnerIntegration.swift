import SCMProviders

/// An integration as the broker hands it to its runner: secrets as JWEs sealed to the runner's
/// encryption key, which only the runner's private key opens.
public struct RunnerIntegration: Codable, Sendable, Equatable {
    public struct OAuth: Codable, Sendable, Equatable {
        public var flavor: OAuthFlavor?
        public var tenant: String?
        public var authority: String
        public var clientID: String
        /// JWE: a `BoundClientSecret` sealed to the runner.
        public var clientSecret: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case flavor, tenant, authority
            case clientID = "client_id"
            case clientSecret = "client_secret"
        }

        public init(flavor: OAuthFlavor?, tenant: String?, authority: String, clientID: String, clientSecret: String) {
            self.flavor = flavor
            self.tenant = tenant
            self.authority = authority
            self.clientID = clientID
            self.clientSecret = clientSecret
        }
    }

    public struct PAT: Codable, Sendable, Equatable {
        public var enabled: Bool

        public init(enabled: Bool) {
            self.enabled = enabled
        }
    }

    public struct GitHubApp: Codable, Sendable, Equatable {
        public var appID: String
        public var installationID: String
        /// JWE: a `BoundGitHubAppKey` sealed to the runner.
        public var privateKey: String

        enum CodingKeys: String, CodingKey, CaseIterable {
            case appID = "app_id"
            case installationID = "installation_id"
            case privateKey = "private_key"
        }

        public init(appID: String, installationID: String, privateKey: String) {
            self.appID = appID
            self.installationID = installationID
            self.privateKey = privateKey
        }
    }

    public var id: String
    public var name: String
    public var provider: SCMProvider
    public var url: String
    /// Where the SCM's REST API is (the "who am I" call, PAT checks, GitHub App tokens).
    public var apiURL: String
    /// Where git traffic goes when not the SCM's own host.
    public var gitURL: String?
    public var callbackURL: String
    public var oauth: OAuth?
    public var githubApp: GitHubApp?
    public var pat: PAT

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, provider, url, oauth, pat
        case apiURL = "api_url"
        case gitURL = "git_url"
        case callbackURL = "callback_url"
        case githubApp = "github_app"
    }

    public init(id: String, name: String, provider: SCMProvider, url: String, apiURL: String, gitURL: String?, callbackURL: String,
                oauth: OAuth?, githubApp: GitHubApp?, pat: PAT) {
        self.id = id
        self.name = name
        self.provider = provider
        self.url = url
        self.apiURL = apiURL
        self.gitURL = gitURL
        self.callbackURL = callbackURL
        self.oauth = oauth
        self.githubApp = githubApp
        self.pat = pat
    }
}

/// `GET /runner/v1/integrations`'s answer.
public struct IntegrationListing: Codable, Sendable, Equatable {
    public var integrations: [RunnerIntegration]

    public init(integrations: [RunnerIntegration]) {
        self.integrations = integrations
    }
}
