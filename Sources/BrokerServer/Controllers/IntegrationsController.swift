import BrokerCore
import BrokerCrypto
import Foundation
import Hummingbird
import Logging
import SCMProviders

/// Admin API for integrations. Client secrets are sealed to the owning runner's encryption
/// key before anything is stored; they never come back out of this API.
struct IntegrationsController {
    typealias Stores = IntegrationStore & RunnerStore & OrganizationCredentialStore & JobQueue

    let store: any Stores
    let clock: BrokerClock
    let publicURL: String
    let notifier: JobNotifier
    let validationTimeout: TimeInterval

    func addRoutes(to group: RouterGroup<AdminContext>) {
        group.post("runners/{id}/integrations", use: create)
        group.get("runners/{id}/integrations", use: listForRunner)
        group.get("integrations/{id}", use: show)
        group.patch("integrations/{id}", use: update)
        group.delete("integrations/{id}", use: delete)
    }

    static let fields: Set<String> = ["name", "provider", "url", "api_url", "git_url", "oauth", "github_app", "pat", "labels",
                                      "description", "credential_mode", "organization_credentials"]

    @Sendable func create(_ request: Request, context: AdminContext) async throws -> JSONResponse<IntegrationRepresentation> {
        let runnerID = try context.parameters.require("id")
        let body = try await request.jsonObject()
        try body.allowOnly(Self.fields)
        if body.has("credential_mode") || body.has("organization_credentials") {
            throw APIError.invalidRequest("organization credentials are validated by the runner: create the integration first, then PATCH `credential_mode` and `organization_credentials`")
        }
        let name = try Validation.name(try body.requiredString("name"), field: "name")
        let provider = try body.provider()
        let organization = try body.organizationURL(provider: provider)
        let patEnabled = try body.patEnabled(default: false)
        let apiURL = try body.apiURL()
        let gitURL = try body.gitURL()
        let labels = try Validation.labels(try body.stringArray("labels"))
        let description = try Validation.description(try body.string("description"))
        var oauthInput: OAuthInput?
        var warnings: [String] = []
        if let oauth = try body.object("oauth") {
            (oauthInput, warnings) = try OAuthInput.parse(oauth, organization: organization, existing: nil)
        }
        let appInput = try body.object("github_app").map { (reader: JSONObjectReader) throws(APIError) in
            try GitHubAppInput.parse(reader, organization: organization, existing: nil)
        }
        guard oauthInput != nil || patEnabled || appInput != nil else { throw Self.needsAWayToClone }

        let runner = try await registeredRunner(runnerID)
        let now = clock.now
        var integration = Integration(
            id: UUID().uuidString.lowercased(), runnerID: runner.id, name: name, provider: provider, url: organization.string,
            apiURL: apiURL, oauth: try oauthInput.map {
                try Self.sealedApp($0, existing: nil, runner: runner, now: now,
                                   apiURL: apiURL ?? SCMIdentityAPI.defaultAPIURL(for: organization))
            },
            pat: PATSettings(enabled: patEnabled), labels: labels, description: description, createdAt: now, updatedAt: now)
        integration.gitURL = gitURL
        if let appInput {
            integration.githubApp = try appInput.sealed(existing: nil, runner: runner, now: now,
                                                        apiURL: apiURL ?? SCMIdentityAPI.defaultAPIURL(for: organization))
            integration.credentialMode = .githubApp
        }
        do {
            try await store.insertIntegration(integration)
        } catch let error as StoreError where error.code == .conflict {
            throw APIError.conflict("runner \(runner.name) already has an integration named \(name)")
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound("no such runner")
        }
        context.logger.info("integration created", metadata: Self.metadata(integration))
        return JSONResponse(IntegrationRepresentation(integration, publicURL: publicURL, warnings: warnings), status: .created)
    }

    @Sendable func listForRunner(_ request: Request, context: AdminContext) async throws -> JSONResponse<[String: [IntegrationRepresentation]]> {
        let runnerID = try context.parameters.require("id")
        guard try await store.runner(id: runnerID) != nil else { throw APIError.notFound("no such runner") }
        let integrations = try await store.integrations(runnerID: runnerID)
        return JSONResponse(["integrations": integrations.map { IntegrationRepresentation($0, publicURL: publicURL) }])
    }

    @Sendable func show(_ request: Request, context: AdminContext) async throws -> JSONResponse<IntegrationRepresentation> {
        let integration = try await existingIntegration(context)
        return JSONResponse(IntegrationRepresentation(integration, publicURL: publicURL,
                                                      organizationCredentials: try await store.organizationCredentials(integrationID: integration.id)))
    }

    @Sendable func update(_ request: Request, context: AdminContext) async throws -> JSONResponse<IntegrationRepresentation> {
        var integration = try await existingIntegration(context)
        let version = integration.updatedAt
        let body = try await request.jsonObject()
        try body.allowOnly(Self.fields)
        if body.has("credential_mode") || body.has("organization_credentials") {
            return try await updateCredentialMode(integration, body: body, context: context)
        }
        try Self.refuseChange(of: "name", in: body, current: integration.name)
        try Self.refuseChange(of: "provider", in: body, current: integration.provider.rawValue)
        if body.has("url") {
            let organization = try body.organizationURL(provider: integration.provider)
            guard organization.string == integration.url else { throw APIError.invalidRequest("`url` cannot be changed; create a new integration") }
        }
        guard let organization = try? OrganizationURL.parse(integration.url, provider: integration.provider) else {
            throw APIError.invalidRequest("the stored `url` is no longer valid; create a new integration")
        }
        let now = clock.now
        var warnings: [String] = []
        let previousAPIURL = IntegrationRepresentation.apiURL(integration)
        if body.has("api_url") { integration.apiURL = try body.apiURL() }
        let apiURL = IntegrationRepresentation.apiURL(integration)
        if body.isNull("oauth") {
            integration.oauth = nil
        } else if let oauth = try body.object("oauth") {
            let input: OAuthInput
            (input, warnings) = try OAuthInput.parse(oauth, organization: organization, existing: integration.oauth)
            let runner = try await registeredRunner(integration.runnerID)
            integration.oauth = try Self.sealedApp(input, existing: integration.oauth, runner: runner, now: now, apiURL: apiURL,
                                                   previousAPIURL: previousAPIURL)
        } else if integration.oauth != nil, apiURL != previousAPIURL {
            throw Self.clientSecretRequired
        }
        if body.isNull("github_app") {
            integration.githubApp = nil
            if integration.credentialMode == .githubApp { integration.credentialMode = .user }
        } else if let app = try body.object("github_app") {
            let input = try GitHubAppInput.parse(app, organization: organization, existing: integration.githubApp)
            let runner = try await registeredRunner(integration.runnerID)
            integration.githubApp = try input.sealed(existing: integration.githubApp, runner: runner, now: now, apiURL: apiURL,
                                                     previousAPIURL: previousAPIURL)
            integration.credentialMode = .githubApp
        } else if integration.githubApp != nil, apiURL != previousAPIURL {
            throw GitHubAppInput.privateKeyRequired
        }
        if body.has("git_url") { integration.gitURL = try body.gitURL() }
        integration.pat.enabled = try body.patEnabled(default: integration.pat.enabled)
        if body.has("labels") { integration.labels = try Validation.labels(try body.stringArray("labels")) }
        if body.has("description") { integration.description = try Validation.description(try body.string("description")) }
        guard integration.oauth != nil || integration.pat.enabled || integration.githubApp != nil else { throw Self.needsAWayToClone }
        integration.updatedAt = max(now, version.addingTimeInterval(0.001))
        do {
            try await store.updateIntegration(integration, expectedUpdatedAt: version)
        } catch let error as StoreError where error.code == .notFound {
            throw APIError.notFound("no such integration")
        } catch let error as StoreError where error.code == .conflict {
            throw APIError.conflict("the integration changed while this update was made; read it again and retry")
        }
        context.logger.info("integration updated", metadata: Self.metadata(integration))
        return JSONResponse(IntegrationRepresentation(integration, publicURL: publicURL, warnings: warnings))
    }

    @Sendable func delete(_ request: Request, context: AdminContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard try await store.deleteIntegration(id: id, now: clock.now) else { throw APIError.notFound("no such integration") }
        context.logger.info("integration deleted", metadata: ["integration.id": "\(id)"])
        return Response(status: .noContent)
    }

    func existingIntegration(_ context: AdminContext) async throws -> Integration {
        let id = try context.parameters.require("id")
        guard let integration = try await store.integration(id: id) else { throw APIError.notFound("no such integration") }
        return integration
    }

    func registeredRunner(_ id: String) async throws -> Runner {
        guard let runner = try await store.runner(id: id) else { throw APIError.notFound("no such runner") }
        guard runner.status == .registered, runner.encryptionKey != nil else {
            throw APIError(.conflict, code: .runnerNotRegistered,
                           "runner \(runner.name) has not registered its keys yet; secrets can only be sealed to a registered runner")
        }
        return runner
    }

    static let needsAWayToClone = APIError.invalidRequest(
        "an integration needs an OAuth app (`oauth`), the PAT route (`pat.enabled: true`) or a GitHub App (`github_app`)")

    static let clientSecretRequired = APIError(
        .badRequest, code: .clientSecretRequired,
        "changing `oauth.authority` or `api_url` needs `oauth.client_secret` again: the secret is sealed together with the only endpoints the runner may send it and its tokens to")

    /// Seals a new client secret to the runner's key, bound to the endpoints it may be sent to,
    /// or keeps the existing sealed one when the endpoints stay the same.
    private static func sealedApp(_ input: OAuthInput, existing: OAuthApp?, runner: Runner, now: Date, apiURL: String,
                                  previousAPIURL: String? = nil) throws -> OAuthApp {
        let sealed: SealedSecret
        if let secret = input.clientSecret {
            guard let jwk = runner.encryptionKey?.jwk else { throw APIError.internalError }
            let key = try RSAPublicKey(jwk: try JWK(jsonString: jwk))
            let bound = BoundClientSecret(clientSecret: secret, authority: input.authority, apiURL: apiURL)
            sealed = SealedSecret(jwe: try JWE.seal(try bound.json(), to: key), keyID: key.keyID, updatedAt: now)
        } else if let existing {
            guard existing.authority == input.authority, previousAPIURL == nil || previousAPIURL == apiURL else { throw clientSecretRequired }
            sealed = existing.clientSecret
        } else {
            throw APIError.invalidRequest("missing field `oauth.client_secret`")
        }
        return OAuthApp(flavor: input.flavor, tenant: input.tenant, authority: input.authority, clientID: input.clientID, clientSecret: sealed)
    }

    private static func refuseChange(of field: String, in body: JSONObjectReader, current: String) throws {
        guard body.has(field) else { return }
        guard try body.string(field) == current else { throw APIError.invalidRequest("`\(field)` cannot be changed") }
    }

    static func metadata(_ integration: Integration) -> Logger.Metadata {
        ["integration.id": "\(integration.id)", "runner.id": "\(integration.runnerID)", "provider": "\(integration.provider.rawValue)"]
    }
}
