import BrokerCrypto
import BrokerProtocol
import Foundation
import Logging
import SCMProviders

/// What git gets: a username per the provider's convention and a token as password.
public struct GitCredential: Sendable, Equatable {
    public var username: String
    public var password: String
    public var expiresAt: Date?
}

/// Gets an environment's git credential: asks the broker for the grant and the sealed
/// credential, opens it, refreshes an expiring OAuth token (one refresh per connection across
/// every process of this runner: in-process single-flight plus the broker's refresh lease),
/// or mints a GitHub App installation token scoped to the one repository.
public actor CloneCredentialProvider {
    let broker: BrokerClient
    let tokens: AccessTokenCache
    let keys: RunnerKeys
    let transport: SCMTransport
    let logger: Logger
    /// Refresh a token that expires within this.
    let refreshMargin: TimeInterval
    /// How long a refresh retries transient SCM failures.
    let refreshBudget: Duration
    /// How long to wait for another process's refresh.
    let waitBudget: Duration

    /// Refreshes in flight here, by connection and version.
    private var refreshes: [String: Task<ConnectionCredentials, any Error>] = [:]

    init(broker: BrokerClient, tokens: AccessTokenCache, keys: RunnerKeys, transport: SCMTransport, logger: Logger,
         refreshMargin: TimeInterval = 300, refreshBudget: Duration = .seconds(20), waitBudget: Duration = .seconds(60)) {
        self.broker = broker
        self.tokens = tokens
        self.keys = keys
        self.transport = transport
        self.logger = logger
        self.refreshMargin = refreshMargin
        self.refreshBudget = refreshBudget
        self.waitBudget = waitBudget
    }

    /// - Parameter tokens: the process's broker access token, shared with its `RunnerService`.
    public init(runnerID: String, keys: RunnerKeys, broker: BrokerClient, transport: SCMTransport, tokens: AccessTokenCache? = nil,
                logger: Logger) {
        self.init(broker: broker, tokens: tokens ?? AccessTokenCache(client: broker, runnerID: runnerID, keys: keys), keys: keys,
                  transport: transport, logger: logger)
    }

    /// The environment's grant and a credential for its repository.
    public func credential(environmentID: String) async throws -> (EnvironmentGrant, GitCredential) {
        let response = try await withBroker { token in try await self.broker.cloneCredential(environmentID: environmentID, accessToken: token) }
        let provider = response.integration.provider
        let grant = response.environment
        let credential = response.credential
        switch credential.kind {
        case .githubApp:
            let (token, apiURL) = try await mintInstallationToken(response, provider: provider)
            try Self.checkCloneOrigin(grant, boundAPIURL: apiURL)
            return (grant, GitCredential(username: GitUsername.forToken(provider: provider, isOAuthToken: false, storedUsername: nil),
                                         password: token.token, expiresAt: token.expiresAt))
        case .oauth, .pat, .organization:
            var credentials = try open(credential)
            if credential.kind == .oauth, needsRefresh(credentials), let connectionID = credential.connectionID, let version = credential.version {
                credentials = try await refreshed(connectionID: connectionID, version: version, environmentID: grant.id, response: response)
            }
            try Self.checkCloneOrigin(grant, boundAPIURL: credentials.apiURL)
            let username = GitUsername.forToken(provider: provider, isOAuthToken: credential.kind == .oauth,
                                                storedUsername: credential.username ?? credentials.username)
            return (grant, GitCredential(username: username, password: credentials.accessToken, expiresAt: credentials.expiresAt))
        }
    }

    /// Tells the broker's audit log that git asked this environment's token for another
    /// repository (or without a path). Best effort: the refusal stands either way.
    public func reportRefusal(environmentID: String, asked: GitCredentialRequest) async {
        let requested = "\(asked.scheme)://\(asked.host)/\(asked.path ?? "")"
        _ = try? await withBroker { token in
            try await self.broker.reportRefusal(environmentID: environmentID, reason: "repository_not_granted", requested: requested,
                                                accessToken: token)
        }
    }

    // MARK: Refresh

    func needsRefresh(_ credentials: ConnectionCredentials) -> Bool {
        guard credentials.refreshToken != nil, let expiresAt = credentials.expiresAt else { return false }
        return expiresAt.timeIntervalSinceNow < refreshMargin
    }

    /// Fresh credentials for version `version` of the connection: one refresh in this process,
    /// whoever asks.
    private func refreshed(connectionID: String, version: Int, environmentID: String, response: CloneCredentialResponse) async throws -> ConnectionCredentials {
        let key = "\(connectionID)#\(version)"
        if let running = refreshes[key] { return try await running.value }
        let task = Task { try await self.coordinateRefresh(connectionID: connectionID, version: version, environmentID: environmentID,
                                                           integration: response.integration, original: response.credential) }
        refreshes[key] = task
        defer { refreshes[key] = nil }
        return try await task.value
    }

    /// Asks the broker for the refresh lease of this version; refreshes if granted, waits for
    /// the holder otherwise and takes the version it stored.
    private func coordinateRefresh(connectionID: String, version: Int, environmentID: String, integration: RunnerIntegration,
                                   original: SealedCloneCredential) async throws -> ConnectionCredentials {
        let deadline = ContinuousClock.now + waitBudget
        var version = version
        var credentials = try open(original)
        while true {
            let asked = version
            let permission = try await withBroker { token in
                try await self.broker.requestRefresh(connectionID: connectionID, version: asked, environmentID: environmentID, accessToken: token)
            }
            switch permission {
            case .current(let newer):
                credentials = try open(newer)
                guard needsRefresh(credentials), let newerVersion = newer.version else { return credentials }
                version = newerVersion
            case .held(let retryAfter):
                guard ContinuousClock.now + retryAfter < deadline else {
                    throw CloneCredentialError(.refreshInProgress, "another runner process is still refreshing the token; try again")
                }
                try await Task.sleep(for: retryAfter)
            case .acquired(let lease):
                return try await refresh(credentials, lease: lease, connectionID: connectionID, environmentID: environmentID, integration: integration)
            }
        }
    }

    /// Refreshes at the SCM while holding the lease, retrying transient failures within the
    /// budget, and stores the result at the broker before anything uses it.
    private func refresh(_ credentials: ConnectionCredentials, lease: String, connectionID: String, environmentID: String,
                         integration: RunnerIntegration) async throws -> ConnectionCredentials {
        let report = { (outcome: RefreshReport.Outcome) async throws -> Int in
            try await self.withBroker(retryingFor: .seconds(30)) { token in
                try await self.broker.reportRefresh(connectionID: connectionID, lease: lease, environmentID: environmentID,
                                                    outcome: outcome, accessToken: token)
            }
        }
        let fresh: ConnectionCredentials
        do {
            fresh = try await refreshAtSCM(credentials, integration: integration)
        } catch let failure as OAuthFailure where Self.isPermanent(failure) {
            _ = try? await report(.failed(code: failure.code.rawValue, permanent: true))
            logger.warning("refresh refused by the SCM; the user must connect again",
                           metadata: ["connection.id": "\(connectionID)", "error": "\(failure.code.rawValue)"])
            throw CloneCredentialError(.needsReconnect, "the SCM refused the refresh token (\(failure.code.rawValue)); the user must connect again")
        } catch let failure as OAuthFailure where Self.isIntegrationFault(failure) {
            // The app's secret, redirect URI or standing is wrong: every user would fail the
            // same way, and reconnecting would not help. The connection stays as it is.
            _ = try? await report(.failed(code: RunnerFailureCode.integrationMisconfigured.rawValue, permanent: false))
            logger.error("refresh refused because of the integration; an admin must check it",
                         metadata: ["connection.id": "\(connectionID)", "error": "\(failure.scmError ?? failure.code.rawValue)"])
            throw CloneCredentialError(.integrationMisconfigured, "the SCM refused the integration's OAuth app: \(failure.message)")
        } catch let failure as OAuthFailure {
            _ = try? await report(.failed(code: failure.code.rawValue, permanent: false))
            throw CloneCredentialError(.scmUnreachable, "refreshing the token failed: \(failure.message)")
        } catch let error as CloneCredentialError {
            _ = try? await report(.failed(code: error.code.rawValue, permanent: false))
            throw error
        }
        let sealed = try JWE.seal(Array(try ConnectionCredentials.encoder.encode(fresh)), to: keys.encryption.publicKey)
        do {
            _ = try await report(.refreshed(credentials: sealed, expiresAt: fresh.expiresAt, scopes: fresh.scopes))
        } catch {
            // The SCM rotated the refresh token; the broker does not have the new one. Using the
            // access token now would hide that the connection is broken for everyone else.
            throw CloneCredentialError(.brokerUnreachable, "the refreshed token could not be stored at the broker (\(error)); try again")
        }
        logger.info("token refreshed", metadata: ["connection.id": "\(connectionID)"])
        return fresh
    }

    private func refreshAtSCM(_ credentials: ConnectionCredentials, integration: RunnerIntegration) async throws -> ConnectionCredentials {
        let provider = integration.provider
        guard let oauth = integration.oauth, let refreshToken = credentials.refreshToken, let bound = try integration.openClientSecret(with: keys)
        else { throw CloneCredentialError(.needsReconnect, "the connection cannot be refreshed: its integration has no OAuth app any more") }
        // Tokens go back only to the service that issued them, with the secret bound to it.
        guard credentials.authority == bound.authority, credentials.clientID == oauth.clientID else {
            throw CloneCredentialError(.endpointMismatch, "the connection's tokens come from another OAuth service than the integration's")
        }
        let client = OAuthClient(provider: provider, flavor: oauth.flavor, tenant: oauth.tenant,
                                 authority: bound.authority, clientID: oauth.clientID, redirectURI: integration.callbackURL)
        let request = client.refreshRequest(refreshToken: refreshToken, clientSecret: bound.clientSecret)
        let deadline = ContinuousClock.now + refreshBudget
        // Each call bounded too, so the whole refresh stays well inside the broker's lease.
        let transport = SCMTransport(httpClient: self.transport.httpClient, timeout: .seconds(10))
        var delay: Duration = .milliseconds(250)
        while true {
            let failure: OAuthFailure
            switch await transport.result(of: request) {
            case .success(let response):
                do {
                    let grant = try JobExecutor.redacting([refreshToken, bound.clientSecret]) { () throws(OAuthFailure) in
                        try client.parseTokenResponse(response)
                    }
                    let now = Date()
                    var fresh = credentials
                    fresh.accessToken = grant.accessToken
                    // Providers that do not rotate send no new refresh token: keep the old one.
                    fresh.refreshToken = grant.refreshToken ?? refreshToken
                    fresh.tokenType = grant.tokenType ?? credentials.tokenType
                    fresh.expiresAt = grant.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }
                    if !grant.scopes.isEmpty { fresh.scopes = grant.scopes }
                    fresh.obtainedAt = now
                    return fresh
                } catch {
                    guard response.status >= 500 || response.status == 429 else { throw error }
                    failure = error
                }
            case .failure(let error):
                failure = error
            }
            guard ContinuousClock.now + delay < deadline else { throw failure }
            try await Task.sleep(for: delay)
            delay *= 2
        }
    }

    /// The refresh token itself is dead (expired, revoked or already rotated): only the user
    /// connecting again helps.
    static func isPermanent(_ failure: OAuthFailure) -> Bool {
        failure.code == .invalidGrant && !isIntegrationFault(failure)
    }

    /// A wrong client secret, a redirect URI that no longer matches, or a blocked app: the
    /// integration's fault, for every user alike.
    static func isIntegrationFault(_ failure: OAuthFailure) -> Bool {
        failure.code == .invalidClient || failure.code == .oauthAppBlocked || failure.scmError?.lowercased() == "redirect_uri_mismatch"
    }

    // MARK: GitHub Apps

    private func mintInstallationToken(_ response: CloneCredentialResponse, provider: SCMProvider) async throws -> (GitHubAppInstallation.Token, String) {
        guard provider == .github, let app = response.integration.githubApp else {
            throw CloneCredentialError(.githubApp, "the integration has no GitHub App")
        }
        let bound: BoundGitHubAppKey
        do {
            bound = try BoundGitHubAppKey(json: try JWE.openString(app.privateKey, with: keys.encryption))
        } catch {
            throw CloneCredentialError(.runnerCannotOpen, "the runner cannot open the GitHub App's sealed private key")
        }
        guard bound.apiURL == response.integration.apiURL else {
            throw CloneCredentialError(.endpointMismatch, "the integration's API differs from the one its GitHub App key was sealed for")
        }
        let access = response.environment.access
        let repository = try RepositoryURL.parse(response.environment.repositoryURL, provider: .github)
        // Installation tokens name repositories without their owner: the repository must be
        // under the integration's owner, which is the account the app is installed on.
        guard let organization = try? OrganizationURL.parse(response.integration.url, provider: .github), !organization.path.isEmpty,
              repository.belongs(to: organization)
        else {
            throw CloneCredentialError(.githubApp, "the repository is not under the GitHub App integration's owner")
        }
        let jwt = try await GitHubAppJWT.sign(appID: app.appID, privateKeyPEM: bound.privateKey)
        let installation = GitHubAppInstallation(apiURL: bound.apiURL, installationID: app.installationID)
        let answer: SCMHTTPResponse
        do {
            answer = try await transport.send(installation.accessTokenRequest(appJWT: jwt, repository: repository.name, access: access))
        } catch {
            throw CloneCredentialError(.scmUnreachable, error.message)
        }
        do {
            return (try installation.parseAccessToken(answer), bound.apiURL)
        } catch {
            throw CloneCredentialError(.githubApp, error.message)
        }
    }

    // MARK: Support

    private func open(_ credential: SealedCloneCredential) throws -> ConnectionCredentials {
        guard let sealed = credential.sealed else { throw CloneCredentialError(.runnerCannotOpen, "the broker sent no credential") }
        do {
            return try ConnectionCredentials.decoder.decode(ConnectionCredentials.self, from: Data(try JWE.open(sealed, with: keys.encryption)))
        } catch {
            throw CloneCredentialError(.runnerCannotOpen, "the runner cannot open the credential the broker holds for it; were its keys replaced?")
        }
    }

    /// Git may receive the token only at the repository's own origin or where the token was
    /// sealed to be used (its API's origin, e.g. a GitHub Enterprise host or a test double): a
    /// changed `git_url` in the broker's database cannot send it anywhere else.
    static func checkCloneOrigin(_ grant: EnvironmentGrant, boundAPIURL: String?) throws {
        let clone = origin(grant.cloneURL)
        guard clone != nil, clone == origin(grant.repositoryURL) || clone == boundAPIURL.flatMap(origin) else {
            throw CloneCredentialError(.endpointMismatch, "the clone URL's host is neither the repository's nor the one its credential is bound to")
        }
    }

    static func origin(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased() else {
            return nil
        }
        let port = components.port.flatMap { (scheme == "https" && $0 == 443) || (scheme == "http" && $0 == 80) ? nil : $0 }
        return "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")"
    }

    /// Calls the broker with a current access token, renewing it once on 401; a broker refusal
    /// becomes a `CloneCredentialError` with the broker's code.
    private func withBroker<T: Sendable>(retryingFor budget: Duration = .zero, _ body: @Sendable (AccessToken) async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + budget
        var delay: Duration = .milliseconds(200)
        var renewed = false
        while true {
            do {
                return try await body(try await tokens.current())
            } catch BrokerClientError.unauthorized where !renewed {
                renewed = true
                await tokens.invalidate()
            } catch let refusal as BrokerRefusal {
                throw CloneCredentialError(.broker(refusal.code), refusal.message)
            } catch let error as CloneCredentialError {
                throw error
            } catch let error as RunnerError where error.code == .unreadableAnswer {
                throw CloneCredentialError(.init(rawValue: error.code.rawValue), error.message)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard ContinuousClock.now + delay < deadline else {
                    throw CloneCredentialError(.brokerUnreachable, "cannot reach the broker (\(error))")
                }
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }
}
