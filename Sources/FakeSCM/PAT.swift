import Foundation

// Personal access tokens: public configuration. The endpoints are in PATAPI.swift.

extension FakeSCM {
    /// The service a personal access token belongs to. PATs have no OAuth flavor: an Azure
    /// DevOps PAT works whichever OAuth app (Entra or legacy) the integration uses.
    public enum Provider: String, Sendable, CaseIterable {
        case azureDevOps, github, gitlab, bitbucket
    }

    /// A personal access token (Azure DevOps PAT, GitHub classic or fine-grained PAT, GitLab
    /// PAT, Bitbucket API token or app password).
    public struct PAT: Sendable {
        public var provider: Provider
        public var token: String
        public var user: User
        /// Azure DevOps: the organization (or Server collection) the PAT is valid for, which
        /// `add` creates if missing. Nil is an "all accessible organizations" PAT, valid for
        /// every organization that exists. Ignored by the other providers.
        public var organization: String?
        /// GitHub: reported in `X-OAuth-Scopes` for classic PATs. GitLab: the token's scopes
        /// (`/user` needs `read_user`, `read_api` or `api`). Azure DevOps: not readable from
        /// the token (as in the real service); see `canReadCode`.
        public var scopes: [String]
        /// Azure DevOps: the PAT has the Code (read) scope; without it
        /// `_apis/git/repositories` answers 401 while `connectionData` works. Bitbucket: the
        /// token may read repositories (403 on `/repositories/{workspace}` otherwise).
        public var canReadCode: Bool
        /// After this (fake clock) the PAT is refused. GitHub reports it in
        /// `GitHub-Authentication-Token-Expiration`; GitLab as the date `expires_at`.
        public var expiresAt: Date?
        /// Bitbucket: the user name HTTP Basic auth must carry with the token (for Atlassian
        /// API tokens the account email, for app passwords the Bitbucket username). Nil means
        /// `user.login`. Ignored by the other providers (Azure DevOps accepts any user name).
        public var username: String?
        public var revoked: Bool

        public init(
            provider: Provider, token: String, user: User = .alice, organization: String? = nil,
            scopes: [String] = [], canReadCode: Bool = true, expiresAt: Date? = nil, username: String? = nil,
            revoked: Bool = false
        ) {
            self.provider = provider
            self.token = token
            self.user = user
            self.organization = organization
            self.scopes = scopes
            self.canReadCode = canReadCode
            self.expiresAt = expiresAt
            self.username = username
            self.revoked = revoked
        }
    }

    /// How an armed rate limit is answered.
    public enum RateLimitStyle: Sendable, Equatable {
        /// 429 with `Retry-After: 1` (every provider's body in its own shape).
        case tooManyRequests
        /// GitHub's primary limit: 403 with `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset`
        /// (fake clock + 60 s, epoch seconds) and the JSON message "API rate limit exceeded
        /// for user ID {GitHub id}." (583231 for Alice).
        case githubForbidden
    }

    /// Registers (or replaces) a personal access token, keyed by the token. An Azure DevOps
    /// PAT's organization is created if missing.
    public func add(_ pat: PAT) {
        engine.state.withLock { state in
            if pat.provider == .azureDevOps, let organization = pat.organization {
                state.ensureOrganization(organization)
            }
            state.pats[pat.token] = PATRecord(pat: pat, id: state.nextPATID, createdAt: state.now)
            state.nextPATID += 1
        }
    }

    /// Revokes a personal access token: later calls with it are refused (401; Azure DevOps
    /// without `X-TFS-FedAuthRedirect: Suppress`: 203 and a sign-in page). Unknown tokens are
    /// ignored.
    public func revoke(pat token: String) {
        engine.state.withLock { $0.pats[token]?.pat.revoked = true }
    }

    /// True while `token` is a registered PAT, not revoked and not expired.
    public func isActive(pat token: String) -> Bool {
        engine.state.withLock { state in
            state.pats[token].map { state.isUsable($0.pat.revoked, $0.pat.expiresAt) } ?? false
        }
    }

    /// The repositories of an Azure DevOps organization (listed by
    /// `_apis/git/repositories`) or of a Bitbucket workspace (`/repositories/{workspace}`).
    /// A name is `repo` (project `web`) or `project/repo`. `contoso` starts with `["portal"]`;
    /// other organizations list none; a Bitbucket workspace never set answers 404.
    public func setRepositories(organization: String, _ names: [String]) {
        engine.state.withLock { $0.repositories[organization.lowercased()] = names }
    }

    /// The next `count` API calls of `provider` authenticated with a valid PAT get a rate-limit
    /// answer in `style` (after authentication, before any other check). OAuth calls and
    /// refused PATs are not affected. The PAT stays valid.
    public func rateLimitNext(_ provider: Provider, count: Int = 1, style: RateLimitStyle = .tooManyRequests) {
        engine.state.withLock { $0.pendingRateLimits[provider, default: []] += Array(repeating: style, count: max(0, count)) }
    }

    /// The next `count` API calls of `provider` (any credentials, any endpoint under its API
    /// base: `/ado/{org}/_apis/…`, `/github/api/…`, `/gitlab/api/v4/…`,
    /// `/bitbucket/api/2.0/…`) fail with `status` before any other check: for retry tests.
    public func failNextAPICalls(_ provider: Provider, status: Int = 503, count: Int = 1) {
        engine.state.withLock { $0.pendingAPIFailures[provider, default: []] += Array(repeating: status, count: max(0, count)) }
    }
}
