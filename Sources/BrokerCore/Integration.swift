import BrokerProtocol
import Foundation
import SCMProviders

/// One SCM an owning runner serves: an OAuth app and/or PAT settings.
public struct Integration: Sendable, Equatable {
    public var id: String
    public var runnerID: String
    public var name: String
    public var provider: SCMProvider
    /// The canonical organization or host URL (see `OrganizationURL`).
    public var url: String
    /// Where the runner calls the SCM's REST API, when not the provider's default for `url`
    /// (a proxy, or a test double).
    public var apiURL: String?
    /// Where git traffic goes, when not the SCM's own host (a proxy, a mirror, a test double):
    /// clone URLs are this base followed by the repository's path.
    public var gitURL: String?
    public var oauth: OAuthApp?
    /// GitHub only: an app installation that mints repository-scoped tokens.
    public var githubApp: GitHubApp?
    public var pat: PATSettings
    public var labels: [String]
    public var description: String
    public var credentialMode: CredentialMode = .user
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, runnerID: String, name: String, provider: SCMProvider, url: String, apiURL: String? = nil,
                oauth: OAuthApp?, pat: PATSettings, labels: [String], description: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.runnerID = runnerID
        self.name = name
        self.provider = provider
        self.url = url
        self.apiURL = apiURL
        self.oauth = oauth
        self.pat = pat
        self.labels = labels
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An OAuth app registered with the SCM. Its client secret is sealed to the owning runner.
public struct OAuthApp: Sendable, Equatable {
    /// Azure DevOps only: Entra ID or legacy Azure DevOps OAuth.
    public var flavor: OAuthFlavor?
    /// Entra only.
    public var tenant: String?
    /// Endpoint base of the OAuth service.
    public var authority: String
    public var clientID: String
    public var clientSecret: SealedSecret

    public init(flavor: OAuthFlavor?, tenant: String?, authority: String, clientID: String, clientSecret: SealedSecret) {
        self.flavor = flavor
        self.tenant = tenant
        self.authority = authority
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}

/// A GitHub App installation. Its private key is sealed to the runner with the API URL it may
/// be used against.
public struct GitHubApp: Sendable, Equatable {
    public var appID: String
    public var installationID: String
    public var privateKey: SealedSecret

    public init(appID: String, installationID: String, privateKey: SealedSecret) {
        self.appID = appID
        self.installationID = installationID
        self.privateKey = privateKey
    }
}

public struct PATSettings: Sendable, Equatable {
    public var enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }
}

/// A secret as the broker holds it: a JWE compact string only the runner key `keyID` opens.
public struct SealedSecret: Sendable, Equatable {
    public var jwe: String
    public var keyID: String
    public var updatedAt: Date

    public init(jwe: String, keyID: String, updatedAt: Date) {
        self.jwe = jwe
        self.keyID = keyID
        self.updatedAt = updatedAt
    }
}
