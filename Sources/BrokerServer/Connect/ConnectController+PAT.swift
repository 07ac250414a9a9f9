import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import SCMProviders

/// The PAT route: `GET /pat/{integration}?ticket=…` spends the ticket and shows a form that
/// explains what token to create; `POST /connect/flows/{id}/pat` takes the token (with the
/// form's CSRF token and this browser's cookie), seals it at once and queues its validation
/// on the runner. `GET /connect/flows/{id}` then shows progress, the result, or the form again
/// with the reason the token was refused.
extension ConnectController {
    static let maximumPATBytes = 1024

    @Sendable func startPAT(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let integration = try await integration(context)
        guard integration.pat.enabled else {
            throw PageError(.forbidden, title: "Tokens not allowed", heading: "Personal access tokens are turned off",
                            message: "Your administrator has not allowed personal access tokens for \(integration.provider.displayName).")
        }
        guard integration.credentialMode == .user else { throw Self.organizationManaged(integration) }
        guard let ticket = request.uri.queryParameters.get("ticket"), ticket.hasPrefix(IssuedToken.connectTicketPrefix), ticket.utf8.count <= 128 else {
            throw Self.invalidLink
        }
        guard let runner = try await store.runner(id: integration.runnerID), try Self.encryptionKey(of: runner) != nil else {
            throw PageError(.serviceUnavailable, title: "Runner not ready", heading: "The runner is not ready",
                            message: "The runner that serves \(integration.provider.displayName) has not registered its keys yet. Ask your administrator.")
        }
        let now = clock.now
        let browser = BrowserBinding.token(in: request, secure: configuration.usesHTTPS) ?? BrowserBinding.newToken()
        let csrf = SecureRandom.token(bytes: 32)
        let flow = ConnectFlow(id: UUID().uuidString.lowercased(), kind: .pat, integrationID: integration.id, runnerID: runner.id, user: "",
                               stateHash: SHA256.hex(csrf), browserHash: BrowserBinding.hash(browser), sealedCodeVerifier: nil, createdAt: now)
        guard let started = try await store.startFlow(ticketHash: SHA256.hex(ticket), flow: flow, now: now) else { throw Self.invalidLink }
        context.logger.info("PAT flow started", metadata: ["flow.id": "\(started.id)", "integration.id": "\(integration.id)"])
        var response = PATPages.form(flow: started, integration: integration, csrf: csrf).response()
        response.setCookie(BrowserBinding.cookie(browser, secure: configuration.usesHTTPS))
        return response
    }

    @Sendable func submitPAT(_ request: Request, context: BrokerRequestContext) async throws -> Response {
        let (flow, integration) = try await boundFlow(request, context: context)
        let now = clock.now
        guard flow.kind == .pat, integration.pat.enabled, integration.credentialMode == .user else {
            throw PageError(.forbidden, title: "Not allowed", heading: "This form cannot be used",
                            message: "Personal access tokens are not (or no longer) allowed here.")
        }
        guard now.timeIntervalSince(flow.createdAt) < flow.lifetime else { throw Self.invalidLink }
        let form: [String: String]
        do {
            form = try FormBody.parse(try await request.collectBody())
        } catch {
            throw Self.forgedForm
        }
        guard let csrf = form["csrf"], csrf.utf8.count <= 128, SHA256.hex(csrf) == flow.stateHash,
              flow.status == .started || flow.status == .failed
        else { throw Self.forgedForm }

        let instructions = try instructions(integration)
        let token = form["token"] ?? ""
        let username = form["username"].map { $0.trimmingCharacters(in: .whitespaces) }
        if let problem = Self.problem(token: token, username: username, needsUsername: instructions.needsUsername) {
            // The form again, with the reason; nothing is queued.
            return try await renderPATForm(flow: flow, integration: integration, message: problem, status: .badRequest)
        }
        guard let runner = try await store.runner(id: flow.runnerID), let runnerKey = try Self.encryptionKey(of: runner) else {
            throw Self.invalidLink
        }
        // Sealed at once, with the only API it may be sent to; the plaintext goes no further.
        let bound = BoundPAT(token: token, username: instructions.needsUsername ? username : nil, apiURL: IntegrationRepresentation.apiURL(integration))
        let payload = CredentialCheckPayload(token: try JWE.seal(try bound.json(), to: runnerKey), user: flow.user)
        let job = Job(id: UUID().uuidString.lowercased(), runnerID: runner.id, kind: .patValidation, integrationID: integration.id,
                      flowID: flow.id, payload: .credentialCheck(payload), createdAt: now)
        guard try await store.beginPATValidation(flowID: flow.id, stateHash: flow.stateHash, newStateHash: SHA256.hex(SecureRandom.token(bytes: 32)),
                                                 job: job, now: now)
        else { throw Self.forgedForm }
        notifier.notify(runnerID: runner.id)
        context.logger.info("PAT validation queued", metadata: ["flow.id": "\(flow.id)", "job.id": "\(job.id)"])
        return Self.redirect(to: "/connect/flows/\(flow.id)", status: .seeOther)
    }

    /// The form with a fresh CSRF token (each rendering has its own).
    func renderPATForm(flow: ConnectFlow, integration: Integration, message: String? = nil,
                       status: HTTPResponse.Status = .ok) async throws -> Response {
        let csrf = SecureRandom.token(bytes: 32)
        guard try await store.setFlowState(id: flow.id, stateHash: SHA256.hex(csrf)) else { throw Self.invalidLink }
        var page = PATPages.form(flow: flow, integration: integration, csrf: csrf, message: message)
        page.status = status
        return page.response()
    }

    func instructions(_ integration: Integration) throws -> PATInstructions {
        guard let organization = try? OrganizationURL.parse(integration.url, provider: integration.provider) else { throw Self.invalidLink }
        return PATInstructions.instructions(for: organization)
    }

    /// Why a pasted token (or username) cannot be right, before anything is sent anywhere.
    static func problem(token: String, username: String?, needsUsername: Bool) -> String? {
        switch TokenShape.tokenProblem(token, maximumBytes: maximumPATBytes) {
        case .empty: return "Paste the token: the field was empty."
        case .tooLong: return "That is longer than any personal access token (over 1 KiB); paste only the token."
        case .controlCharacters: return "The token contains line breaks or other control characters; paste only the token, on one line."
        case .surroundingSpaces: return "The token starts or ends with spaces; paste only the token."
        // Every SCM's tokens are printable ASCII: anything else is a paste gone wrong.
        case .notVisibleASCII: return "The token contains spaces or characters no token has; paste only the token."
        case nil: break
        }
        if needsUsername, !(username.map { TokenShape.isPrintable($0, maximumBytes: 256) } ?? false) {
            return "Enter your username as well: this SCM needs it with the token."
        }
        return nil
    }

    static let forgedForm = PageError(
        .forbidden, title: "Form not accepted", heading: "This form was not accepted",
        message: "The form is out of date or did not come from this page. Reload the page and paste the token again.")

    static func organizationManaged(_ integration: Integration) -> PageError {
        PageError(.ok, title: "Nothing to connect", heading: "No need to connect",
                  message: "\(integration.provider.displayName) access is provided by your organization: you do not need to connect an account of your own.")
    }
}
