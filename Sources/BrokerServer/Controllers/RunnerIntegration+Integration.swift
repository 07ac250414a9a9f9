import BrokerCore
import BrokerProtocol
import Foundation

extension RunnerIntegration {
    /// The integration as its runner sees it: secrets as the sealed JWEs, which only the
    /// runner's private key opens.
    init(_ integration: Integration, publicURL: String) {
        self.init(
            id: integration.id, name: integration.name, provider: integration.provider, url: integration.url,
            apiURL: IntegrationRepresentation.apiURL(integration), gitURL: integration.gitURL,
            callbackURL: IntegrationRepresentation.callbackURL(integration, publicURL: publicURL),
            oauth: integration.oauth.map {
                OAuth(flavor: $0.flavor, tenant: $0.tenant, authority: $0.authority, clientID: $0.clientID, clientSecret: $0.clientSecret.jwe)
            },
            githubApp: integration.githubApp.map { GitHubApp(appID: $0.appID, installationID: $0.installationID, privateKey: $0.privateKey.jwe) },
            pat: PAT(enabled: integration.pat.enabled))
    }
}

extension EnvironmentGrant {
    /// A clone grant as the environments API and the runner see it, with its status at `now`.
    init(_ grant: CloneGrant, now: Date) {
        self.init(id: grant.id, runner: grant.runnerID, integration: grant.integrationID, user: grant.user,
                  repositoryURL: grant.repositoryURL, cloneURL: grant.cloneURL, access: grant.access,
                  credentialMode: grant.credentialMode, status: grant.status(at: now), createdAt: grant.createdAt,
                  expiresAt: grant.expiresAt, revokedAt: grant.revokedAt)
    }
}
