import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A strict, in-process stand-in for the OAuth and "who am I" endpoints of Azure DevOps
/// (Microsoft Entra ID v2 and legacy Azure DevOps OAuth), GitHub, GitLab and Bitbucket Cloud.
///
/// One HTTP server on loopback serves every provider under a path prefix (`/entra`, `/vssps`,
/// `/ado`, `/github`, `/gitlab`, `/bitbucket`), with the providers' own wire formats and
/// documented quirks. It checks what the real services check (PKCE S256, client secrets, exact
/// redirect URIs, form fields, one-time codes, token rotation), and plays the user at the
/// authorize step: it approves as the current user and redirects back at once.
///
/// Never logs credentials: only the method, path and status of each request.
public final class FakeSCM: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Microsoft Entra ID v2 in front of Azure DevOps.
        case entra
        /// Legacy Azure DevOps OAuth (app.vssps.visualstudio.com).
        case legacy
        case github
        case gitlab
        case bitbucket
    }

    /// An OAuth app (client) registered with the fake.
    public struct App: Sendable {
        public var kind: Kind
        public var clientID: String
        public var clientSecret: String
        /// Exact redirect URIs; for Bitbucket the first is the consumer's callback URL.
        public var redirectURIs: [String]
        /// Entra only: the app's home tenant. Token and authorize requests must name it,
        /// `organizations` or `common`. Nil accepts any tenant except `consumers`.
        public var tenant: String?
        /// Entra only: the secret's ID; sending it instead of the value fails with AADSTS7000215.
        public var secretID: String?
        /// Legacy only: the "App Secret"; sending it as the client assertion fails with
        /// "Failed to deserialize the JsonWebToken object".
        public var appSecret: String?
        /// GitHub only: a GitHub App with expiring user tokens (8 h access, rotating 6-month
        /// refresh tokens). False is a classic OAuth app: non-expiring tokens, no refresh.
        public var expiringTokens: Bool

        public init(
            kind: Kind, clientID: String, clientSecret: String, redirectURIs: [String],
            tenant: String? = nil, secretID: String? = nil, appSecret: String? = nil, expiringTokens: Bool = true
        ) {
            self.kind = kind
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.redirectURIs = redirectURIs
            self.tenant = tenant
            self.secretID = secretID
            self.appSecret = appSecret
            self.expiringTokens = expiringTokens
        }
    }

    /// The person the fake signs in as. Provider-specific ids are derived from `id`: a numeric
    /// `id` is used as the GitHub and GitLab id, a GUID `id` as the Azure DevOps id.
    public struct User: Sendable, Equatable {
        public var id: String
        public var login: String
        public var displayName: String
        public var email: String
        var githubID: Int
        var gitlabID: Int

        public init(id: String, login: String, displayName: String, email: String) {
            self.init(id: id, login: login, displayName: displayName, email: email,
                      githubID: Int(id) ?? derivedNumber("github:" + id), gitlabID: Int(id) ?? derivedNumber("gitlab:" + id))
        }

        init(id: String, login: String, displayName: String, email: String, githubID: Int, gitlabID: Int) {
            self.id = id
            self.login = login
            self.displayName = displayName
            self.email = email
            self.githubID = githubID
            self.gitlabID = gitlabID
        }

        /// The default user: login `alice`, "Alice Example", alice@contoso.example; GitHub id
        /// 583231, GitLab id 42, Azure DevOps id `id`.
        public static let alice = User(
            id: "6c3b2a47-8f2e-4c49-9b7e-2f1d5a9e0c11", login: "alice", displayName: "Alice Example",
            email: "alice@contoso.example", githubID: 583_231, gitlabID: 42
        )

        var azureDevOpsID: String {
            UUID(uuidString: id) != nil ? id.lowercased() : derivedGUID("ado:" + id)
        }
    }

    /// Request counters for one kind.
    public struct Counts: Sendable, Equatable {
        public var authorizeRequests = 0
        /// Successful authorization-code redemptions.
        public var codeRedemptions = 0
        /// Successful refreshes.
        public var refreshes = 0
        /// Token-endpoint answers that were errors (GitHub's HTTP 200 errors included).
        public var tokenFailures = 0
        public var apiCalls = 0
        /// Successful GitLab `/oauth/revoke` calls.
        public var revocations = 0

        public init() {}
    }

    /// Counters of the API calls made with the personal access tokens of one provider.
    public struct PATCounts: Sendable, Equatable {
        /// API calls that presented a registered PAT of this provider, whatever the answer
        /// (refused and rate-limited ones included). Tokens the fake does not know are not
        /// counted here: nothing says they were meant as PATs.
        public var apiCalls = 0
        /// Of those, the ones refused as bad credentials: revoked, expired, of another Azure
        /// DevOps organization, or (Bitbucket) sent with the wrong user name.
        public var refused = 0
        /// Of those, the ones answered with a rate limit armed by `rateLimitNext`. They are not
        /// refusals: the PAT stays valid.
        public var rateLimited = 0
        /// API calls of this provider (any credentials) answered by `failNextAPICalls`.
        public var injectedFailures = 0

        public init() {}
    }

    /// Counters since start. The top-level numbers are totals; `perKind` splits them.
    /// Azure DevOps API calls count under the kind of the OAuth token used; calls with a PAT
    /// or without valid credentials count in the totals only. GitHub, GitLab and Bitbucket API
    /// calls count under their kind whatever the credentials (PATs included).
    /// PAT calls are also counted per provider in `perProvider` (`stats[pat: .azureDevOps]`).
    public struct Stats: Sendable, Equatable {
        public var total = Counts()
        public var perKind: [Kind: Counts] = [:]
        public var perProvider: [Provider: PATCounts] = [:]

        public init() {}

        /// API calls made with a registered PAT, all providers.
        public var patCalls: Int { perProvider.values.reduce(0) { $0 + $1.apiCalls } }

        public subscript(pat provider: Provider) -> PATCounts { perProvider[provider] ?? PATCounts() }

        mutating func countPAT(_ provider: Provider, _ counter: WritableKeyPath<PATCounts, Int>) {
            perProvider[provider, default: PATCounts()][keyPath: counter] += 1
        }

        public var authorizeRequests: Int { total.authorizeRequests }
        public var codeRedemptions: Int { total.codeRedemptions }
        public var refreshes: Int { total.refreshes }
        public var tokenFailures: Int { total.tokenFailures }
        public var apiCalls: Int { total.apiCalls }
        public var revocations: Int { total.revocations }

        public subscript(kind: Kind) -> Counts { perKind[kind] ?? Counts() }

        mutating func count(_ kind: Kind?, _ counter: WritableKeyPath<Counts, Int>) {
            total[keyPath: counter] += 1
            if let kind { perKind[kind, default: Counts()][keyPath: counter] += 1 }
        }
    }

    public enum StartError: Error, CustomStringConvertible {
        case serverDidNotStart

        public var description: String { "the fake SCM server did not start" }
    }

    let engine: Engine
    private let serviceGroup: ServiceGroup
    private let serverTask: Task<Void, Never>
    public let host: String
    /// The port the server listens on (the kernel's choice when started with port 0).
    public let port: Int

    private init(engine: Engine, serviceGroup: ServiceGroup, serverTask: Task<Void, Never>, host: String, port: Int) {
        self.engine = engine
        self.serviceGroup = serviceGroup
        self.serverTask = serverTask
        self.host = host
        self.port = port
    }

    /// Starts the server; it listens when this returns. Port 0 lets the kernel choose.
    /// Without a logger the fake logs warnings only.
    public static func start(host: String = "127.0.0.1", port: Int = 0, logger: Logger? = nil) async throws -> FakeSCM {
        let logger = logger ?? {
            var logger = Logger(label: "fake-scm")
            logger.logLevel = .warning
            return logger
        }()
        let engine = Engine(logger: logger)
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            await engine.respond(to: request)
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? port)
                portContinuation.finish()
            },
            logger: logger
        )
        // Our own group, without signal handlers, so that stop() can shut down gracefully.
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let failure = Locked<(any Error)?>(nil)
        let task = Task {
            do {
                try await group.run()
            } catch {
                failure.withLock { $0 = error }
            }
            portContinuation.finish()
        }
        for await actualPort in ports {
            return FakeSCM(engine: engine, serviceGroup: group, serverTask: task, host: host, port: actualPort)
        }
        await task.value
        throw failure.withLock { $0 } ?? StartError.serverDidNotStart
    }

    /// Stops the server (gracefully: idle keep-alive connections are closed) and waits until
    /// it has. Cancels it after 5 s if a client holds a request open. Safe to call twice.
    public func stop() async {
        await serviceGroup.triggerGracefulShutdown()
        let task = serverTask
        let deadline = Task {
            try? await Task.sleep(for: .seconds(5))
            task.cancel()
        }
        await serverTask.value
        deadline.cancel()
        try? FileManager.default.removeItem(at: engine.gitRoot)
    }

    /// `http://host:port`, no trailing slash.
    public var baseURL: String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }

    /// What an integration's `oauth.authority` is set to for this kind.
    public func authority(_ kind: Kind) -> String {
        switch kind {
        case .entra: baseURL + "/entra"
        case .legacy: baseURL + "/vssps"
        case .github: baseURL + "/github"
        case .gitlab: baseURL + "/gitlab"
        case .bitbucket: baseURL + "/bitbucket"
        }
    }

    /// The REST API base the runner calls. Azure DevOps kinds need the organization
    /// (`contoso` when nil).
    public func apiURL(_ kind: Kind, organization: String? = nil) -> String {
        switch kind {
        case .entra, .legacy: baseURL + "/ado/" + Form.percentEncode(organization ?? "contoso")
        case .github: baseURL + "/github/api"
        case .gitlab: baseURL + "/gitlab/api/v4"
        case .bitbucket: baseURL + "/bitbucket/api/2.0"
        }
    }

    // MARK: Configuration and control (all thread-safe)

    /// Registers (or replaces) an app, keyed by kind and client id.
    public func register(_ app: App) {
        engine.state.withLock { $0.apps[AppKey(app.kind, app.clientID)] = app }
    }

    /// The user the authorize step signs in as from now on. Default: `User.alice`.
    public func setCurrentUser(_ user: User) {
        engine.state.withLock { $0.currentUser = user }
    }

    public var currentUser: User {
        engine.state.withLock { $0.currentUser }
    }

    /// The next authorize request that names a known client and a valid redirect URI is
    /// answered with a redirect carrying `error` (e.g. `access_denied`, `invalid_scope`,
    /// `unauthorized_client`), `error_description` when given, and `state`.
    public func failNextAuthorize(error: String, description: String? = nil) {
        engine.state.withLock { $0.pendingAuthorizeFailure = AuthorizeFailure(error: error, description: description) }
    }

    /// The next `count` token-endpoint requests (any kind) fail with `status` (e.g. 503, 429,
    /// 500) and a `Retry-After: 1` header, before any other check: for retry tests.
    public func failNextTokenRequests(status: Int = 503, count: Int = 1) {
        engine.state.withLock { $0.pendingTokenFailures += Array(repeating: status, count: count) }
    }

    /// The organization disabled "Third-party application access via OAuth": OAuth tokens
    /// (either flavor) get 401 TF400813 from its APIs; PATs still work.
    public func blockThirdPartyOAuth(organization: String) {
        engine.state.withLock { state in
            state.ensureOrganization(organization)
            state.organizations[organization.lowercased()]?.oauthBlocked = true
        }
    }

    /// An Azure DevOps organization that exists (others answer 404). `contoso` exists from
    /// the start. `tenant` is what `X-VSS-ResourceTenant` reports (all zeros when nil: an
    /// organization backed by personal Microsoft accounts).
    public func addOrganization(_ name: String, tenant: String? = nil) {
        engine.state.withLock { state in
            state.ensureOrganization(name)
            if let tenant { state.organizations[name.lowercased()]?.tenant = tenant }
        }
    }

    /// A personal access token valid for `organization` (which is added if missing), sent
    /// as the password of HTTP Basic auth with any user name. Same as
    /// `add(PAT(provider: .azureDevOps, token: token, user: user, organization: organization))`.
    public func addPAT(organization: String, token: String, user: User) {
        add(PAT(provider: .azureDevOps, token: token, user: user, organization: organization))
    }

    /// Access-token lifetime in seconds for every kind; 0 (the default) means each provider's
    /// own: Entra and legacy 3599, GitHub expiring tokens 28800, GitLab and Bitbucket 7200.
    /// Classic GitHub OAuth apps' tokens never expire.
    public var accessTokenLifetime: Int {
        get { engine.state.withLock { $0.accessTokenLifetimeOverride } }
        set { engine.state.withLock { $0.accessTokenLifetimeOverride = max(0, newValue) } }
    }

    /// Authorization codes expire this long after issue (default 600 s).
    public var codeLifetime: TimeInterval {
        get { engine.state.withLock { $0.codeLifetime } }
        set { engine.state.withLock { $0.codeLifetime = newValue } }
    }

    /// Demo mode: accept any `http://127.0.0.1…` or `http://localhost…` redirect URI at
    /// authorize for any registered app (still bound to the code and checked at the token
    /// step). Off by default.
    public var allowAnyLoopbackRedirect: Bool {
        get { engine.state.withLock { $0.allowAnyLoopbackRedirect } }
        set { engine.state.withLock { $0.allowAnyLoopbackRedirect = newValue } }
    }

    /// Moves the fake's clock forward: codes and tokens expire without sleeping.
    public func advanceClock(by seconds: TimeInterval) {
        engine.state.withLock { $0.clockOffset += seconds }
    }

    /// The fake's current time (wall clock plus `advanceClock` offsets).
    public var now: Date {
        engine.state.withLock { $0.now }
    }

    /// True while `accessToken` is known, not revoked and not expired.
    public func isActive(accessToken: String) -> Bool {
        engine.state.withLock { state in
            state.accessTokens[accessToken].map { state.isUsable($0.revoked, $0.expiresAt) } ?? false
        }
    }

    /// True while `refreshToken` is known, not revoked (rotated away) and not expired.
    public func isActive(refreshToken: String) -> Bool {
        engine.state.withLock { state in
            state.refreshTokens[refreshToken].map { state.isUsable($0.revoked, $0.expiresAt) } ?? false
        }
    }

    public var stats: Stats {
        engine.state.withLock { $0.stats }
    }

    /// Revokes a refresh token as an SCM does when the user revokes the app's access: the next
    /// refresh with it gets `invalid_grant`.
    public func revoke(refreshToken: String) {
        engine.state.withLock { $0.refreshTokens[refreshToken]?.revoked = true }
    }

    // MARK: Helpers for tests

    /// BASE64URL(SHA-256(verifier)), the PKCE S256 challenge.
    public static func pkceChallenge(verifier: String) -> String {
        PKCE.challenge(for: verifier)
    }

    /// A fresh random PKCE verifier (43 characters).
    public static func makePKCEVerifier() -> String {
        Random.base64URL(bytes: 32)
    }

    /// SHA-256 of `bytes`, exposed for tests of the fake itself.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        Digest.sha256(bytes)
    }
}
