import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import SCMProviders

/// The browser side of connecting an SCM account with OAuth:
/// `GET /connect/{integration}?ticket=…` starts a flow and sends the browser to the SCM;
/// `GET /oauth/callback/{integration}` checks the flow and queues the code exchange on the
/// runner; `GET /connect/flows/{id}` reports progress (JSON, or a page for browsers).
/// Every outcome is a page; nothing here answers a 500 for bad input.
struct ConnectController {
    typealias Stores = IntegrationStore & RunnerStore & ConnectFlowStore & JobQueue & ConnectionStore

    let store: any Stores
    let clock: BrokerClock
    let configuration: BrokerConfiguration
    let notifier: JobNotifier

    func addRoutes(to router: Router<BrokerRequestContext>) {
        let pages = router.group().add(middleware: ErrorPageMiddleware(mode: .pages))
        pages.get("connect/{integration}", use: start)
        pages.get("oauth/callback/{integration}", use: callback)
        pages.get("connect/flows/{id}/restart", use: restart)
        pages.get("pat/{integration}", use: startPAT)
        pages.post("connect/flows/{id}/pat", use: submitPAT)
        // Polled by the page's script (JSON) and opened by browsers without script (a page).
        let negotiated = router.group().add(middleware: ErrorPageMiddleware(mode: .negotiated))
        negotiated.get("connect/flows/{id}", use: flowStatus)
        negotiated.post("connect/flows/{id}/retry", use: retry)
    }

    // MARK: Start

    @Sendable func start(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let integration = try await integration(context)
        guard let oauth = integration.oauth else {
            throw PageError(.badRequest, title: "OAuth is not set up", heading: "This integration does not use OAuth",
                            message: "Your administrator has not set up an OAuth app for \(integration.provider.displayName). Use the personal access token link instead.")
        }
        guard let ticket = request.uri.queryParameters.get("ticket"), ticket.hasPrefix(IssuedToken.connectTicketPrefix), ticket.utf8.count <= 128 else {
            throw Self.invalidLink
        }
        guard let runner = try await store.runner(id: integration.runnerID), let runnerKey = try Self.encryptionKey(of: runner) else {
            throw PageError(.serviceUnavailable, title: "Runner not ready", heading: "The runner is not ready",
                            message: "The runner that serves \(integration.provider.displayName) has not registered its keys yet. Ask your administrator.")
        }
        let now = clock.now
        let browser = BrowserBinding.token(in: request, secure: configuration.usesHTTPS) ?? BrowserBinding.newToken()
        let state = SecureRandom.token(bytes: 32)
        let client = Self.oauthClient(integration, oauth, publicURL: configuration.publicURL)
        let (challenge, sealedVerifier) = try Self.pkce(client, runnerKey: runnerKey)
        let flow = ConnectFlow(id: UUID().uuidString.lowercased(), integrationID: integration.id, runnerID: runner.id, user: "",
                               stateHash: SHA256.hex(state), browserHash: BrowserBinding.hash(browser),
                               sealedCodeVerifier: sealedVerifier, createdAt: now)
        guard let started = try await store.startFlow(ticketHash: SHA256.hex(ticket), flow: flow, now: now) else {
            throw Self.invalidLink
        }
        context.logger.info("connect flow started", metadata: ["flow.id": "\(started.id)", "integration.id": "\(integration.id)"])
        var response = Response(status: .found, headers: [
            .location: client.authorizeURL(state: state, codeChallenge: challenge),
            .cacheControl: "no-store",
            .init("Referrer-Policy")!: "no-referrer",
        ])
        response.setCookie(BrowserBinding.cookie(browser, secure: configuration.usesHTTPS))
        return response
    }

    // MARK: Callback

    @Sendable func callback(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let integration = try await integration(context)
        let query = request.uri.queryParameters
        guard let state = query.get("state"), !state.isEmpty, state.utf8.count <= 256,
              let flow = try await store.flow(stateHash: SHA256.hex(state)), flow.integrationID == integration.id, flow.kind == .oauth
        else { throw Self.invalidState("This sign-in response does not belong to a sign-in started here.") }
        guard BrowserBinding.matches(request, browserHash: flow.browserHash, secure: configuration.usesHTTPS) else {
            throw Self.invalidState("This sign-in was started in another browser. Open the link you were given in this browser and start again.")
        }
        guard flow.status == .started else {
            throw Self.invalidState("This sign-in response was already used. If you reloaded the page, your connection is still being set up in the first tab.")
        }
        let now = clock.now
        guard now.timeIntervalSince(flow.createdAt) < ConnectFlow.lifetime else {
            _ = try await store.failStartedFlow(id: flow.id, failure: FlowFailure(code: BrokerErrorCode.flowExpired, message: "The sign-in took longer than 10 minutes."), now: now)
            throw Self.invalidState("The sign-in took longer than 10 minutes and has expired.", restart: flow.id)
        }
        if let error = query.get("error") {
            let failure = OAuthFailure.fromAuthorizationCallback(error: String(error.prefix(64)), description: query.get("error_description"))
            _ = try await store.failStartedFlow(id: flow.id, failure: FlowFailure(code: failure.code.rawValue, message: failure.message), now: now)
            context.logger.info("connect flow refused at the SCM", metadata: ["flow.id": "\(flow.id)", "error": "\(failure.code.rawValue)"])
            return try await render(flow: try await store.flow(id: flow.id) ?? flow, integration: integration).response()
        }
        guard let code = query.get("code"), !code.isEmpty, code.utf8.count <= 4096 else {
            throw Self.invalidState("The sign-in response carries no authorization code.")
        }
        guard let runner = try await store.runner(id: flow.runnerID), let runnerKey = try Self.encryptionKey(of: runner) else {
            throw Self.invalidState("The runner for this integration is gone.")
        }
        // The code is a secret: sealed to the runner here, before anything stores or queues it.
        let payload = ExchangePayload(code: try JWE.seal(code, to: runnerKey), codeVerifier: flow.sealedCodeVerifier,
                                      redirectURI: IntegrationRepresentation.callbackURL(integration, publicURL: configuration.publicURL),
                                      user: flow.user)
        let job = Job(id: UUID().uuidString.lowercased(), runnerID: runner.id, kind: .oauthExchange, integrationID: integration.id,
                      flowID: flow.id, payload: .exchange(payload), createdAt: now)
        guard try await store.beginExchange(flowID: flow.id, job: job, now: now) else {
            throw Self.invalidState("This sign-in response was already used.")
        }
        notifier.notify(runnerID: runner.id)
        context.logger.info("code exchange queued", metadata: ["flow.id": "\(flow.id)", "job.id": "\(job.id)"])
        guard let current = try await store.flow(id: flow.id) else { throw APIError.internalError }
        return try await render(flow: current, integration: integration).response()
    }

    // MARK: Progress

    struct FlowStatus: Encodable {
        struct Failure: Encodable { var code: String; var message: String }
        var id: String
        var status: String
        /// The scm-broker user the connection is for: pages name them, so nobody connects their
        /// account to someone else's user without seeing it.
        var user: String
        var provider: String
        var runner: String
        var waitingForRunner: Bool
        var scmUser: SCMUser?
        var error: Failure?
        var retryUrl: String?
        var restartUrl: String?
    }

    @Sendable func flowStatus(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let (flow, integration) = try await boundFlow(request, context: context)
        let current = try await settleIfRunnerOffline(flow)
        guard request.acceptsHTML else {
            return try JSONResponse(try await status(of: current, integration: integration)).response(from: request, context: context)
        }
        if current.kind == .pat, current.status == .started || current.status == .failed {
            return try await renderPATForm(flow: current, integration: integration)
        }
        return try await render(flow: current, integration: integration).response()
    }

    /// `POST /connect/flows/{id}/retry`: queues the exchange again after the runner was offline,
    /// while the authorization code can still be valid.
    @Sendable func retry(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let (flow, integration) = try await boundFlow(request, context: context)
        let now = clock.now
        guard flow.status == .failed, flow.failure?.has(.runnerOffline) == true, let jobID = flow.jobID,
              // An authorization code lives minutes; past the flow's lifetime a retry cannot work.
              now.timeIntervalSince(flow.createdAt) < ConnectFlow.lifetime,
              let previous = try await store.job(id: jobID)
        else { throw APIError(.conflict, code: .notRetryable, "only a flow whose runner was offline can be retried, within 10 minutes") }
        let job = Job(id: UUID().uuidString.lowercased(), runnerID: flow.runnerID, kind: previous.kind, integrationID: flow.integrationID,
                      flowID: flow.id, payload: previous.payload, createdAt: now)
        guard try await store.retryExchange(flowID: flow.id, failureCode: BrokerErrorCode.runnerOffline.rawValue, job: job, now: now) else {
            throw APIError(.conflict, code: .notRetryable, "the flow changed; reload the page")
        }
        notifier.notify(runnerID: flow.runnerID)
        if request.acceptsHTML {
            return Response(status: .seeOther, headers: [.location: "/connect/flows/\(flow.id)", .cacheControl: "no-store"])
        }
        guard let current = try await store.flow(id: flow.id) else { throw APIError.internalError }
        return try JSONResponse(try await status(of: current, integration: integration)).response(from: request, context: context)
    }

    /// `GET /connect/flows/{id}/restart`: after a failure, the same browser may try again
    /// within the flow's 10 minutes: the flow gets a new state (and PKCE verifier) and the
    /// browser goes back to the SCM. With `?route=pat` it goes to the PAT page instead, with a
    /// ticket that ends when the flow would have.
    @Sendable func restart(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let (flow, integration) = try await boundFlow(request, context: context)
        let now = clock.now
        let deadline = flow.createdAt.addingTimeInterval(ConnectFlow.lifetime)
        guard flow.status == .failed else {
            throw PageError(.conflict, title: "Nothing to restart", heading: "This sign-in is not finished", message: "Wait for it to finish before starting again.")
        }
        guard now < deadline else { throw Self.invalidLink }
        // A PAT flow tries again on its own form.
        if flow.kind == .pat { return Self.redirect(to: "/connect/flows/\(flow.id)", status: .seeOther) }
        if request.uri.queryParameters.get("route") == "pat" {
            guard integration.pat.enabled else { throw Self.invalidLink }
            let (ticket, hash) = IssuedToken.make(prefix: IssuedToken.connectTicketPrefix)
            try await store.insertConnectTicket(ConnectTicket(tokenHash: hash, user: flow.user, integrationID: integration.id, expiresAt: deadline), now: now)
            return Self.redirect(to: "\(configuration.publicURL)/pat/\(integration.id)?ticket=\(ticket)", status: .seeOther)
        }
        guard let oauth = integration.oauth, let runner = try await store.runner(id: flow.runnerID),
              let runnerKey = try Self.encryptionKey(of: runner)
        else { throw Self.invalidLink }
        let state = SecureRandom.token(bytes: 32)
        let client = Self.oauthClient(integration, oauth, publicURL: configuration.publicURL)
        let (challenge, sealedVerifier) = try Self.pkce(client, runnerKey: runnerKey)
        guard try await store.restartFlow(id: flow.id, stateHash: SHA256.hex(state), sealedCodeVerifier: sealedVerifier, now: now) else {
            throw Self.invalidLink
        }
        context.logger.info("connect flow restarted", metadata: ["flow.id": "\(flow.id)"])
        return Self.redirect(to: client.authorizeURL(state: state, codeChallenge: challenge), status: .seeOther)
    }

    static func redirect(to location: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.location: location, .cacheControl: "no-store", .init("Referrer-Policy")!: "no-referrer"])
    }

    /// A PKCE challenge and the verifier sealed to the runner, where the provider uses PKCE.
    static func pkce(_ client: OAuthClient, runnerKey: RSAPublicKey) throws -> (challenge: String?, sealedVerifier: String?) {
        guard client.usesPKCE else { return (nil, nil) }
        let verifier = SecureRandom.token(bytes: 32)
        return (Base64URL.encode(SHA256.hash(Array(verifier.utf8))), try JWE.seal(verifier, to: runnerKey))
    }

    // MARK: Rendering

    private func status(of flow: ConnectFlow, integration: Integration) async throws -> FlowStatus {
        let runner = try await store.runner(id: flow.runnerID)
        var status = FlowStatus(id: flow.id, status: "pending", user: flow.user, provider: integration.provider.displayName,
                                runner: runner?.name ?? "unknown",
                                waitingForRunner: false)
        switch flow.status {
        case .started:
            break
        case .exchanging:
            // Waiting for the runner: nobody picked the job up, and the runner has not polled
            // lately (a polling runner touches its record every second while its poll is held).
            let queued = try await flow.jobID.asyncMap { try await store.job(id: $0) }??.status == .queued
            let seenLately = runner?.lastSeenAt.map { clock.now.timeIntervalSince($0) < Self.runnerPresenceWindow } ?? false
            status.waitingForRunner = queued && !seenLately
        case .connected:
            status.status = "connected"
            status.scmUser = try await flow.connectionID.asyncMap { try await store.connection(id: $0) }??.scmUser
        case .failed:
            status.status = "failed"
            let failure = flow.failure ?? FlowFailure(code: "failed", message: "")
            status.error = .init(code: failure.code, message: failure.message)
            if failure.code == BrokerErrorCode.runnerOffline.rawValue { status.retryUrl = "\(configuration.publicURL)/connect/flows/\(flow.id)/retry" }
            if flow.kind == .oauth { status.restartUrl = "\(configuration.publicURL)/connect/flows/\(flow.id)/restart" }
        }
        return status
    }

    private func render(flow: ConnectFlow, integration: Integration) async throws -> Page {
        let status = try await status(of: flow, integration: integration)
        return ConnectPages.page(for: status, flow: flow, integration: integration)
    }

    /// A flow whose exchange no runner picked up within the timeout fails as `runner_offline`,
    /// and its job is withdrawn so a runner coming back later does not use the code.
    private func settleIfRunnerOffline(_ flow: ConnectFlow) async throws -> ConnectFlow {
        guard flow.status == .exchanging, let callbackAt = flow.callbackAt, let jobID = flow.jobID,
              let job = try await store.job(id: jobID)
        else { return flow }
        // Unclaimed since the callback, or since the lease of a runner that died ran out.
        let now = clock.now
        let unclaimedSince: Date? = switch job.status {
        case .queued: callbackAt
        case .leased: job.leaseExpiresAt.flatMap { $0 <= now ? $0 : nil }
        case .completed, .cancelled: nil
        }
        guard let unclaimedSince, now.timeIntervalSince(unclaimedSince) >= configuration.runnerOfflineTimeout else { return flow }
        let runnerName = try await store.runner(id: flow.runnerID)?.name ?? "unknown"
        let failure = FlowFailure(code: BrokerErrorCode.runnerOffline,
                                  message: "Runner \(runnerName) did not pick up the request within \(Int(configuration.runnerOfflineTimeout)) seconds; it seems to be offline.")
        guard try await store.abandonUnclaimedExchange(flowID: flow.id, failure: failure, now: clock.now) else { return flow }
        return try await store.flow(id: flow.id) ?? flow
    }

    func boundFlow(_ request: Request, context: BrokerRequestContext) async throws -> (ConnectFlow, Integration) {
        let id = try context.parameters.require("id")
        guard let flow = try await store.flow(id: id), BrowserBinding.matches(request, browserHash: flow.browserHash, secure: configuration.usesHTTPS),
              let integration = try await store.integration(id: flow.integrationID)
        else {
            throw PageError(.notFound, title: "Not found", heading: "No such sign-in",
                            message: "This sign-in does not exist or was started in another browser.", code: .notFound)
        }
        return (flow, integration)
    }

    func integration(_ context: BrokerRequestContext) async throws -> Integration {
        let id = try context.parameters.require("integration")
        guard let integration = try await store.integration(id: id) else {
            throw PageError(.notFound, title: "Not found", heading: "No such integration",
                            message: "The link points to an integration that does not exist (any more). Ask for a new link.")
        }
        return integration
    }

    static func oauthClient(_ integration: Integration, _ oauth: OAuthApp, publicURL: String) -> OAuthClient {
        OAuthClient(provider: integration.provider, flavor: oauth.flavor, tenant: oauth.tenant, authority: oauth.authority,
                    clientID: oauth.clientID, redirectURI: IntegrationRepresentation.callbackURL(integration, publicURL: publicURL))
    }

    static func encryptionKey(of runner: Runner) throws -> RSAPublicKey? {
        guard runner.status == .registered, let jwk = runner.encryptionKey?.jwk else { return nil }
        return try RSAPublicKey(jwk: try JWK(jsonString: jwk))
    }

    /// A runner seen this recently is polling, so a queued job is about to be picked up.
    static let runnerPresenceWindow: TimeInterval = 10

    static let invalidLink = PageError(
        .badRequest, title: "Link expired", heading: "This link can no longer be used",
        message: "Connect links work once and for 10 minutes. Go back to where you got it and ask for a new one.")

    static func invalidState(_ message: String, restart flowID: String? = nil) -> PageError {
        PageError(.badRequest, title: "Sign-in not accepted", heading: "This sign-in cannot be completed", message: message,
                  actions: flowID.map { [Page.Action(label: "Start again", href: "/connect/flows/\($0)/restart")] } ?? [])
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
