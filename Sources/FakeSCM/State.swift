import Foundation

struct AppKey: Hashable, Sendable {
    var kind: FakeSCM.Kind
    var clientID: String

    init(_ kind: FakeSCM.Kind, _ clientID: String) {
        self.kind = kind
        self.clientID = clientID
    }
}

struct AuthorizeFailure: Sendable {
    var error: String
    var description: String?
}

struct Organization: Sendable {
    var name: String
    var tenant = "00000000-0000-0000-0000-000000000000"
    var oauthBlocked = false
    var instanceID = Random.guid()
}

/// A registered personal access token (any provider).
struct PATRecord: Sendable {
    var pat: FakeSCM.PAT
    /// GitLab's token id (`/personal_access_tokens/self`).
    var id: Int
    var createdAt: Date

    /// Bitbucket: the user name HTTP Basic auth must carry.
    var basicUsername: String { pat.username ?? pat.user.login }
}

/// GitHub's per-token hourly rate-limit window, reported in `X-RateLimit-*` headers.
struct RateWindow: Sendable {
    var start: Date
    var used: Int
}

struct CodeRecord: Sendable {
    var kind: FakeSCM.Kind
    var clientID: String
    /// As sent at authorize; nil only for Bitbucket, where it is optional.
    var redirectURI: String?
    var scope: String
    var challenge: String?
    var user: FakeSCM.User
    var expiresAt: Date
    var redeemed = false
    /// Every token descending from this code carries the family, so a replayed code can
    /// revoke them all.
    var family: String
}

struct AccessRecord: Sendable {
    var kind: FakeSCM.Kind
    var clientID: String
    var user: FakeSCM.User
    var scope: String
    var issuedAt: Date
    var expiresAt: Date?
    var revoked = false
    var family: String
}

struct RefreshRecord: Sendable {
    var kind: FakeSCM.Kind
    var clientID: String
    var user: FakeSCM.User
    var scope: String
    var expiresAt: Date?
    var revoked = false
    var family: String
    /// The access token issued with it (GitLab revokes both together).
    var accessToken: String
    /// The redirect URI of the original authorization (legacy refreshes must repeat it).
    var redirectURI: String?
}

struct State: Sendable {
    var apps: [AppKey: FakeSCM.App] = [:]
    var currentUser = FakeSCM.User.alice
    var pendingAuthorizeFailure: AuthorizeFailure?
    var pendingTokenFailures: [Int] = []
    var organizations: [String: Organization] = ["contoso": Organization(name: "contoso")]
    var accessTokenLifetimeOverride = 0
    var codeLifetime: TimeInterval = 600
    var allowAnyLoopbackRedirect = false
    var clockOffset: TimeInterval = 0
    var codes: [String: CodeRecord] = [:]
    var accessTokens: [String: AccessRecord] = [:]
    var refreshTokens: [String: RefreshRecord] = [:]
    var stats = FakeSCM.Stats()
    /// Personal access tokens by token (all providers).
    var pats: [String: PATRecord] = [:]
    var nextPATID = 1
    /// Repository names (`name` or `project/name`) by lower-cased Azure DevOps organization or
    /// Bitbucket workspace.
    var repositories: [String: [String]] = ["contoso": ["portal"]]
    var pendingRateLimits: [FakeSCM.Provider: [FakeSCM.RateLimitStyle]] = [:]
    var pendingAPIFailures: [FakeSCM.Provider: [Int]] = [:]
    /// GitHub rate-limit windows by token (OAuth or PAT).
    var githubRateWindows: [String: RateWindow] = [:]
    /// Git repositories created with `createRepository`.
    var gitRepositories: Set<GitRepoKey> = []
    /// `grantGit` grants by token.
    var gitGrants: [String: [GitRepoKey: FakeSCM.GitAccess]] = [:]
    var gitRequests = 0
    /// Installation tokens' expiry (other granted tokens do not expire).
    var gitGrantExpiry: [String: Date] = [:]
    var githubApps: [String: FakeSCM.GitHubAppInstallation] = [:]
    var installationTokensIssued = 0

    var now: Date { Date().addingTimeInterval(clockOffset) }

    func isUsable(_ revoked: Bool, _ expiresAt: Date?) -> Bool {
        !revoked && (expiresAt.map { now < $0 } ?? true)
    }

    mutating func ensureOrganization(_ name: String) {
        if organizations[name.lowercased()] == nil {
            organizations[name.lowercased()] = Organization(name: name)
        }
    }

    func app(_ kind: FakeSCM.Kind, _ clientID: String) -> FakeSCM.App? {
        apps[AppKey(kind, clientID)]
    }

    /// The access-token lifetime for `app`, nil when its tokens never expire.
    func accessLifetime(for app: FakeSCM.App) -> Int? {
        if app.kind == .github, !app.expiringTokens { return nil }
        if accessTokenLifetimeOverride > 0 { return accessTokenLifetimeOverride }
        switch app.kind {
        case .entra, .legacy: return 3599
        case .github: return 28_800
        case .gitlab, .bitbucket: return 7200
        }
    }

    /// Whether `uri` may be used with `app` at authorize.
    func acceptsRedirect(_ uri: String, for app: FakeSCM.App) -> Bool {
        if app.redirectURIs.contains(uri) { return true }
        return allowAnyLoopbackRedirect && Self.isLoopbackHTTP(uri)
    }

    static func isLoopbackHTTP(_ uri: String) -> Bool {
        guard let components = URLComponents(string: uri), components.scheme?.lowercased() == "http",
              components.user == nil, components.password == nil, components.fragment == nil,
              let host = components.host?.lowercased()
        else { return false }
        return host == "127.0.0.1" || host == "localhost" || host == "[::1]" || host == "::1"
    }

    /// Revokes every token issued from one authorization (a replayed code).
    mutating func revokeFamily(_ family: String) {
        for (token, record) in accessTokens where record.family == family {
            accessTokens[token]?.revoked = true
        }
        for (token, record) in refreshTokens where record.family == family {
            refreshTokens[token]?.revoked = true
        }
    }
}
