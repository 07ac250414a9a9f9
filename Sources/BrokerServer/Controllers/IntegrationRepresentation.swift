import BrokerCore
import Foundation
import SCMProviders

/// An integration as the admin API shows it: the client secret appears only as metadata.
struct IntegrationRepresentation: Encodable {
    struct OAuth: Encodable {
        var flavor: String?
        var tenant: String?
        var authority: String
        var clientID: String
        var clientSecret: SecretMetadata
    }

    struct SecretMetadata: Encodable {
        var sealed = true
        var keyID: String
        var updatedAt: Date
    }

    struct PAT: Encodable {
        var enabled: Bool
    }

    var id: String
    var runnerID: String
    var name: String
    var provider: String
    var url: String
    var apiURL: String
    var gitURL: String?
    var callbackURL: String
    var oauth: OAuth?
    var githubApp: GitHubAppSummary?
    var pat: PAT

    struct GitHubAppSummary: Encodable {
        var appID: String
        var installationID: String
        var privateKey: SecretMetadata
    }

    struct OrganizationCredentialSummary: Encodable {
        var id: String
        var username: String?
        var scmUser: SCMUser
        var createdAt: Date
    }

    var labels: [String]
    var description: String
    var credentialMode: String
    /// Shown only where read (`GET`, and the PATCH that sets them); never a token.
    var organizationCredentials: [OrganizationCredentialSummary]?
    var createdAt: Date
    var updatedAt: Date
    var warnings: [String]?

    init(_ integration: Integration, publicURL: String, warnings: [String] = [], organizationCredentials: [OrganizationCredential]? = nil) {
        id = integration.id
        runnerID = integration.runnerID
        name = integration.name
        provider = integration.provider.rawValue
        url = integration.url
        apiURL = Self.apiURL(integration)
        gitURL = integration.gitURL
        callbackURL = Self.callbackURL(integration, publicURL: publicURL)
        oauth = integration.oauth.map {
            OAuth(flavor: $0.flavor?.rawValue, tenant: $0.tenant, authority: $0.authority, clientID: $0.clientID,
                  clientSecret: SecretMetadata(keyID: $0.clientSecret.keyID, updatedAt: $0.clientSecret.updatedAt))
        }
        githubApp = integration.githubApp.map {
            GitHubAppSummary(appID: $0.appID, installationID: $0.installationID,
                             privateKey: SecretMetadata(keyID: $0.privateKey.keyID, updatedAt: $0.privateKey.updatedAt))
        }
        pat = PAT(enabled: integration.pat.enabled)
        labels = integration.labels
        description = integration.description
        credentialMode = integration.credentialMode.rawValue
        self.organizationCredentials = organizationCredentials?.map {
            OrganizationCredentialSummary(id: $0.id, username: $0.username, scmUser: $0.scmUser, createdAt: $0.createdAt)
        }
        createdAt = integration.createdAt
        updatedAt = integration.updatedAt
        self.warnings = warnings.isEmpty ? nil : warnings
    }

    static func callbackURL(_ integration: Integration, publicURL: String) -> String {
        "\(publicURL)/oauth/callback/\(integration.id)"
    }

    /// The admin's override, else the provider's API for the integration's URL.
    static func apiURL(_ integration: Integration) -> String {
        if let apiURL = integration.apiURL { return apiURL }
        guard let organization = try? OrganizationURL.parse(integration.url, provider: integration.provider) else { return integration.url }
        return SCMIdentityAPI.defaultAPIURL(for: organization)
    }
}
