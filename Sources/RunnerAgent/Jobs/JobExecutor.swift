import BrokerCrypto
import BrokerProtocol
import Foundation
import Logging
import SCMProviders

/// Runs one job: opens what the broker sealed, talks to the SCM, seals what comes back to this
/// runner's own key. Returns the result to report; never throws, never logs a secret.
public struct JobExecutor: Sendable {
    let keys: RunnerKeys
    let transport: SCMTransport
    let logger: Logger

    public init(keys: RunnerKeys, transport: SCMTransport, logger: Logger) {
        self.keys = keys
        self.transport = transport
        self.logger = logger
    }

    public func execute(_ job: LeasedJob) async -> JobReport {
        do {
            switch job.payload {
            case .exchange(let payload): return try await exchange(job, payload)
            case .revocation(let payload): return try await revoke(job, payload)
            case .credentialCheck(let payload): return try await validatePAT(job, payload)
            }
        } catch let failure as OAuthFailure {
            return .failed(ReportedFailure(code: failure.code.rawValue, message: failure.message))
        } catch let failure as PATFailure {
            return .failed(ReportedFailure(code: failure.code.rawValue, message: failure.message))
        } catch let error as RunnerError {
            return .failed(ReportedFailure(code: error.code.rawValue, message: "The runner refused the job: \(error.message)."))
        } catch let error as CryptoError {
            return .failed(ReportedFailure(code: RunnerFailureCode.runnerCannotOpen.rawValue,
                                           message: "The runner cannot open what the broker sealed for it (\(error.code)); were its keys replaced without registering again?"))
        } catch {
            return .failed(ReportedFailure(code: RunnerFailureCode.runnerError.rawValue, message: "The runner failed (\(type(of: error)))."))
        }
    }

    /// Exchanges the authorization code at the SCM's token endpoint, asks the SCM who the user
    /// is, and seals the tokens with that identity.
    func exchange(_ job: LeasedJob, _ payload: ExchangePayload) async throws -> JobReport {
        let integration = job.integration
        let provider = integration.provider
        guard let oauth = integration.oauth else { throw RunnerError(.incompleteJob, "the exchange's integration has no OAuth app") }
        let sealedCode = payload.code
        let redirectURI = payload.redirectURI
        // Endpoints come from what was sealed with the secret, never from the job alone.
        guard let bound = try integration.openClientSecret(with: keys) else {
            throw OAuthFailure(code: .unexpectedResponse, message: "The integration has no OAuth app.")
        }
        let client = OAuthClient(provider: provider, flavor: oauth.flavor, tenant: oauth.tenant,
                                 authority: bound.authority, clientID: oauth.clientID, redirectURI: redirectURI)
        let code = try JWE.openString(sealedCode, with: keys.encryption)
        let verifier = try payload.codeVerifier.map { try JWE.openString($0, with: keys.encryption) }
        let secrets = [bound.clientSecret, code, verifier].compactMap { $0 }

        let response = try await transport.send(client.codeExchangeRequest(code: code, codeVerifier: verifier, clientSecret: bound.clientSecret))
        let grant = try Self.redacting(secrets) { () throws(OAuthFailure) in try client.parseTokenResponse(response) }
        let identityResponse = try await transport.send(
            SCMIdentityAPI.whoAmIRequest(provider: provider, apiURL: bound.apiURL, accessToken: grant.accessToken))
        let identity = try Self.redacting(secrets + [grant.accessToken]) { () throws(OAuthFailure) in
            try SCMIdentityAPI.parseWhoAmI(provider: provider, identityResponse)
        }

        let now = Date()
        let expiresAt = grant.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }
        let credentials = ConnectionCredentials(accessToken: grant.accessToken, refreshToken: grant.refreshToken, tokenType: grant.tokenType,
                                                expiresAt: expiresAt, scopes: grant.scopes, scmUser: identity, obtainedAt: now,
                                                authority: bound.authority, apiURL: bound.apiURL, clientID: oauth.clientID)
        let sealed = try JWE.seal(Array(try ConnectionCredentials.encoder.encode(credentials)), to: keys.encryption.publicKey)
        logger.info("connected", metadata: ["job.id": "\(job.id)", "integration.id": "\(integration.id)", "scm.user": "\(identity.username)"])
        return .connected(SealedConnection(
            credentials: sealed,
            scmUser: ReportedSCMUser(id: identity.id, username: identity.username, displayName: identity.displayName),
            scopes: grant.scopes, expiresAt: expiresAt))
    }

    /// Checks a PAT at the SCM (retrying rate limits and failures for a bounded time) and seals
    /// it with who it belongs to.
    func validatePAT(_ job: LeasedJob, _ payload: CredentialCheckPayload) async throws -> JobReport {
        let integration = job.integration
        let provider = integration.provider
        let bound = try BoundPAT(json: try JWE.openString(payload.token, with: keys.encryption))
        guard bound.apiURL == integration.apiURL else {
            throw RunnerError(.endpointMismatch, "the integration's API differs from the one the token was sealed for; paste the token again")
        }
        // Where an OAuth app exists, its client secret was sealed with the API URL an admin
        // entered: a PAT goes nowhere else, even if the broker's database says otherwise.
        if integration.oauth != nil, let app = try integration.openClientSecret(with: keys), app.apiURL != bound.apiURL {
            throw RunnerError(.endpointMismatch, "the token was sealed for another API than the integration's OAuth app; an admin must check the integration")
        }
        let check = PATCheck(provider: provider, apiURL: bound.apiURL, token: bound.token, username: bound.username)
        let deadline = ContinuousClock.now + Self.validationBudget
        let validation: PATValidation
        do {
            var checked = try check.readIdentity(try await sendRetrying(check.request(.identity)!, secret: bound.token, deadline: deadline))
            if check.needsCapabilityStep(after: checked), let request = check.request(.capability) {
                checked = try check.readCapability(try await sendRetrying(request, secret: bound.token, deadline: deadline), into: checked)
            }
            validation = checked
        } catch var failure as PATFailure {
            // SCM-controlled text (scope lists, echoed headers) must not carry the token back out.
            for secret in [bound.token, check.basicCredentials] { failure.message = failure.message.replacingOccurrences(of: secret, with: "[redacted]") }
            throw failure
        }
        let now = Date()
        let credentials = ConnectionCredentials(accessToken: bound.token, refreshToken: nil, tokenType: "pat", expiresAt: validation.expiresAt,
                                                scopes: validation.scopes, scmUser: validation.identity, obtainedAt: now,
                                                authority: nil, apiURL: bound.apiURL, clientID: nil)
        var withUsername = credentials
        withUsername.username = bound.username
        let sealedCredentials = try JWE.seal(Array(try ConnectionCredentials.encoder.encode(withUsername)), to: keys.encryption.publicKey)
        logger.info("token validated", metadata: ["job.id": "\(job.id)", "integration.id": "\(integration.id)", "scm.user": "\(validation.identity.username)"])
        return .connected(SealedConnection(
            credentials: sealedCredentials,
            scmUser: ReportedSCMUser(id: validation.identity.id, username: validation.identity.username,
                                     displayName: validation.identity.displayName),
            scopes: validation.scopes, expiresAt: validation.expiresAt))
    }

    /// A whole validation (all steps, retries and waits) ends within this, well inside the
    /// admin's wait (45 s) and the job's lease (60 s).
    static let validationBudget: Duration = .seconds(25)

    /// Sends `request`, retrying rate limits, 5xx and network failures (honouring `Retry-After`)
    /// while `deadline` allows. A wait longer than what is left ends it: the SCM counts as
    /// unreachable rather than being hammered.
    func sendRetrying(_ request: SCMHTTPRequest, secret: String, deadline: ContinuousClock.Instant) async throws -> SCMHTTPResponse {
        var delay: TimeInterval = 0.5
        var last = "no answer"
        let transport = SCMTransport(httpClient: self.transport.httpClient, timeout: .seconds(10))
        for _ in 0..<8 {
            var wait = delay
            switch await transport.result(of: request) {
            case .success(let response):
                guard let retryAfter = PATCheck.retryDelay(response) else { return response }
                last = "HTTP \(response.status)\(response.status == 429 || response.status == 403 ? " (rate limited)" : "")"
                wait = max(retryAfter, delay)
            case .failure(let failure):
                last = failure.message.replacingOccurrences(of: secret, with: "[redacted]")
            }
            if ContinuousClock.now + .seconds(wait) + .seconds(1) >= deadline { break }
            try await Task.sleep(for: .seconds(wait))
            delay *= 2
        }
        let host = URLComponents(string: request.url)?.host ?? "the SCM"
        throw PATFailure(.scmUnreachable, "\(host) kept failing (\(last)); try again in a few minutes.")
    }

    /// Runs `body`, removing from a failure's message anything the runner sent: an SCM or a
    /// proxy may echo a code or secret back in its error description.
    static func redacting<T>(_ secrets: [String], _ body: () throws(OAuthFailure) -> T) throws(OAuthFailure) -> T {
        do {
            return try body()
        } catch {
            var failure = error
            for secret in secrets where secret.count >= 4 {
                failure.message = failure.message.replacingOccurrences(of: secret, with: "[redacted]")
            }
            throw failure
        }
    }

    /// Revokes a removed connection's tokens where the provider offers a revocation endpoint.
    func revoke(_ job: LeasedJob, _ payload: RevocationPayload) async throws -> JobReport {
        let integration = job.integration
        let provider = integration.provider
        let credentials = try ConnectionCredentials.decoder.decode(ConnectionCredentials.self,
                                                                   from: Data(try JWE.open(payload.credentials, with: keys.encryption)))
        guard let oauth = integration.oauth else { return .succeeded }
        let secret = try JWE.openString(oauth.clientSecret, with: keys.encryption)
        guard let bound = try? BoundClientSecret(json: secret) else {
            throw RunnerError(.sealedFormInvalid, "the sealed client secret is not in the expected form")
        }
        // Tokens go back only to the service that issued them, and the client secret only where
        // it was bound: both must agree, whatever the job says.
        guard let authority = credentials.authority, authority == bound.authority, credentials.clientID == oauth.clientID else {
            throw RunnerError(.endpointMismatch, "the connection's tokens were issued by another OAuth service than the one sealed with the client secret")
        }
        let client = OAuthClient(provider: provider, flavor: oauth.flavor, tenant: oauth.tenant,
                                 authority: authority, clientID: oauth.clientID, redirectURI: integration.callbackURL)
        for token in [credentials.refreshToken, credentials.accessToken].compactMap({ $0 }) {
            guard let request = client.revokeRequest(token: token, clientSecret: bound.clientSecret) else { return .succeeded }
            let response = try await transport.send(request)
            guard (200..<300).contains(response.status) else {
                throw OAuthFailure(code: .scmError, message: "The SCM refused to revoke the token (HTTP \(response.status)).")
            }
        }
        logger.info("connection revoked", metadata: ["job.id": "\(job.id)", "integration.id": "\(integration.id)"])
        return .succeeded
    }
}
