import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import SCMProviders

/// `PATCH /api/v1/integrations/{id}` with `credential_mode` (and `organization_credentials`):
/// organization-managed PATs that serve every user. Each token is sealed at once and checked by
/// the runner before anything is stored; the admin gets the runner's verdict with the same
/// codes users see (`invalid_credentials`, `invalid_permissions`, `no_resources`, …).
extension IntegrationsController {
    static let maximumOrganizationCredentials = 10

    struct CredentialInput {
        var username: String?
        var token: String
    }

    /// The credential modes an admin sets here; `github_app` follows from setting a GitHub App.
    enum SelectableCredentialMode: String {
        case user, organization

        var mode: CredentialMode {
            switch self {
            case .user: .user
            case .organization: .organization
            }
        }
    }

    func updateCredentialMode(_ integration: Integration, body: JSONObjectReader,
                              context: AdminContext) async throws -> JSONResponse<IntegrationRepresentation> {
        try body.allowOnly(["credential_mode", "organization_credentials"])
        let selected: SelectableCredentialMode
        if let text = try body.string("credential_mode") {
            guard let parsed = SelectableCredentialMode(rawValue: text) else {
                throw APIError.invalidRequest("`credential_mode` must be \"user\" or \"organization\"")
            }
            selected = parsed
        } else {
            selected = .organization
        }
        let mode = selected.mode
        let needsUsername = (try? OrganizationURL.parse(integration.url, provider: integration.provider))
            .map { PATInstructions.instructions(for: $0).needsUsername } ?? false
        let inputs = try Self.credentialInputs(body, needsUsername: needsUsername)
        let existing = try await store.organizationCredentials(integrationID: integration.id)
        var credentials: [OrganizationCredential] = []
        if integration.githubApp != nil {
            throw APIError.invalidRequest("the integration clones with its GitHub App; remove it first (`\"github_app\": null`)")
        }
        switch selected {
        case .user:
            guard inputs == nil else { throw APIError.invalidRequest("`organization_credentials` go with `credential_mode: \"organization\"`") }
        case .organization:
            if let inputs {
                credentials = try await validated(inputs, integration: integration, context: context)
            } else {
                guard !existing.isEmpty else { throw APIError.invalidRequest("organization mode needs `organization_credentials`") }
                credentials = existing
            }
        }
        let now = clock.now
        let updatedAt = max(now, integration.updatedAt.addingTimeInterval(0.001))
        do {
            try await store.setCredentialMode(integrationID: integration.id, mode: mode, credentials: credentials,
                                              expectedUpdatedAt: integration.updatedAt, updatedAt: updatedAt)
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound("no such integration")
        } catch let error as StoreError where error.code == .conflict {
            throw APIError.conflict("the integration changed while this update was made; read it again and retry")
        }
        var updated = integration
        updated.credentialMode = mode
        updated.updatedAt = updatedAt
        context.logger.info("integration credential mode set", metadata: Self.metadata(updated).merging(
            ["credential_mode": "\(mode.rawValue)", "organization_credentials": "\(credentials.count)"]) { $1 })
        return JSONResponse(IntegrationRepresentation(updated, publicURL: publicURL, organizationCredentials: credentials))
    }

    static func credentialInputs(_ body: JSONObjectReader, needsUsername: Bool) throws -> [CredentialInput]? {
        guard let value = body.value("organization_credentials") else { return nil }
        guard case .array(let items) = value, !items.isEmpty, items.count <= maximumOrganizationCredentials else {
            throw APIError.invalidRequest("`organization_credentials` must be an array of 1–\(maximumOrganizationCredentials) objects")
        }
        return try items.enumerated().map { index, item in
            let field = "organization_credentials[\(index)]"
            let reader = try JSONObjectReader(item, path: field)
            try reader.allowOnly(["username", "token"])
            let token = try reader.requiredString("token")
            let username = try reader.string("username")
            if let username, !TokenShape.isPrintable(username, maximumBytes: 256) {
                throw APIError.invalidRequest("`\(field).username` must be 1–256 printable characters")
            }
            if let problem = ConnectController.problem(token: token, username: username, needsUsername: needsUsername) {
                throw APIError.invalidRequest("`\(field)`: \(problem)")
            }
            return CredentialInput(username: username, token: token)
        }
    }

    /// Seals each token, has the runner check them all, and waits for its verdicts.
    private func validated(_ inputs: [CredentialInput], integration: Integration, context: AdminContext) async throws -> [OrganizationCredential] {
        let runner = try await registeredRunner(integration.runnerID)
        guard let jwk = runner.encryptionKey?.jwk else { throw APIError.internalError }
        let key = try RSAPublicKey(jwk: try JWK(jsonString: jwk))
        let apiURL = IntegrationRepresentation.apiURL(integration)
        let now = clock.now
        var jobs: [Job] = []
        for input in inputs {
            let bound = BoundPAT(token: input.token, username: input.username, apiURL: apiURL)
            let payload = CredentialCheckPayload(token: try JWE.seal(try bound.json(), to: key), user: nil)
            jobs.append(Job(id: UUID().uuidString.lowercased(), runnerID: runner.id, kind: .credentialValidation, integrationID: integration.id,
                            payload: .credentialCheck(payload), createdAt: now))
        }
        let ids = jobs.map(\.id)
        let finished: [Job]?
        do {
            for job in jobs { try await store.enqueueJob(job) }
            notifier.notify(runnerID: runner.id)
            finished = try await waitForCompletion(ids)
        } catch {
            // Whatever happened (cancelled, store failure), no validation may run for nobody.
            try? await store.deleteJobs(ids: ids)
            throw error
        }
        // The answers hold sealed tokens (and unanswered jobs must not run later): read once, then forgotten.
        try await store.deleteJobs(ids: ids)
        guard let finished else {
            throw APIError(.serviceUnavailable, code: .runnerOffline,
                           "runner \(runner.name) did not check the credentials within \(Int(validationTimeout)) seconds; is it running?")
        }
        var credentials: [OrganizationCredential] = []
        for (index, (input, job)) in zip(inputs, finished).enumerated() {
            guard let result = job.result.flatMap(CredentialValidationResult.parse) else {
                throw APIError(.badGateway, code: .runnerError, "the runner's answer for `organization_credentials[\(index)]` could not be read")
            }
            if let failure = result.failure {
                throw APIError(.badRequest, code: BrokerErrorCode(rawValue: failure.code), "`organization_credentials[\(index)]`: \(failure.message)")
            }
            guard let sealed = result.credentials, let keyID = result.keyID, let scmUser = result.scmUser else {
                throw APIError(.badGateway, code: .runnerError, "the runner's answer for `organization_credentials[\(index)]` is incomplete")
            }
            credentials.append(OrganizationCredential(
                id: UUID().uuidString.lowercased(), integrationID: integration.id, username: input.username,
                credentials: SealedSecret(jwe: sealed, keyID: keyID, updatedAt: now), scmUser: scmUser,
                createdAt: now.addingTimeInterval(Double(index) * 0.001)))
        }
        return credentials
    }

    /// The jobs once all are completed (in order), or nil after the timeout.
    private func waitForCompletion(_ ids: [String]) async throws -> [Job]? {
        let deadline = ContinuousClock.now + .seconds(validationTimeout)
        while ContinuousClock.now < deadline {
            var jobs: [Job] = []
            for id in ids {
                guard let job = try await store.job(id: id), job.status == .completed else { break }
                jobs.append(job)
            }
            if jobs.count == ids.count { return jobs }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}
