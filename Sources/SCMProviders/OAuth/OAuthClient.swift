/// One integration's OAuth app, public parts only: the client secret is passed to each call
/// that needs it, so this value can be stored, logged and compared freely.
///
/// The five OAuth dialects (Entra, legacy Azure DevOps, GitHub, GitLab, Bitbucket) differ in
/// endpoints, parameter names, PKCE support and error quirks; everything here is built from
/// the facts in shared/reference/scm-protocols.md, without I/O.
public struct OAuthClient: Sendable, Equatable {
    public var provider: SCMProvider
    /// Azure DevOps only; nil means Entra there. Ignored for the other providers.
    public var flavor: OAuthFlavor?
    /// Entra only: a tenant id or domain, or `organizations` (the default when nil or empty).
    public var tenant: String?
    /// The endpoint base without a trailing slash (see `OAuthEndpoints.defaultAuthority`).
    public var authority: String
    public var clientID: String
    public var redirectURI: String

    public init(provider: SCMProvider, flavor: OAuthFlavor? = nil, tenant: String? = nil, authority: String, clientID: String, redirectURI: String) {
        self.provider = provider
        self.flavor = flavor
        self.tenant = tenant
        self.authority = Self.trimmingTrailingSlashes(authority)
        self.clientID = clientID
        self.redirectURI = redirectURI
    }

    /// The OAuth dialect: Azure DevOps speaks two.
    enum Dialect: Equatable {
        case entra, azureDevOpsLegacy, github, gitlab, bitbucket
    }

    var dialect: Dialect {
        switch provider {
        case .azureDevOps: flavor == .legacy ? .azureDevOpsLegacy : .entra
        case .github: .github
        case .gitlab: .gitlab
        case .bitbucket: .bitbucket
        }
    }

    /// Who answers at the OAuth endpoints, for messages: Entra is not Azure DevOps itself.
    var serviceName: String {
        dialect == .entra ? "Microsoft Entra ID" : provider.displayName
    }

    /// Whether the authorization-code flow carries a PKCE (S256) challenge. Legacy Azure DevOps
    /// OAuth and Bitbucket Cloud do not support PKCE, so nothing is sent to them.
    public var usesPKCE: Bool {
        switch dialect {
        case .entra, .github, .gitlab: true
        case .azureDevOpsLegacy, .bitbucket: false
        }
    }

    /// Azure DevOps' resource id in Entra: scopes are `{resource}/{scope}`.
    static let azureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

    /// What we request: enough to clone and push, and to learn who the user is.
    /// - Entra: Code (read and write) plus `offline_access`, without which no refresh token
    ///   is issued.
    /// - GitLab: `write_repository` for git over HTTPS, `read_user` for `GET /user`.
    /// - Bitbucket: none; Bitbucket Cloud takes the scopes configured on the OAuth consumer.
    public var scopes: [String] {
        switch dialect {
        case .entra: ["\(Self.azureDevOpsResource)/vso.code_write", "offline_access"]
        case .azureDevOpsLegacy: ["vso.code_write"]
        case .github: ["repo"]
        case .gitlab: ["read_user", "write_repository"]
        case .bitbucket: []
        }
    }

    /// The Entra tenant used in endpoint paths.
    var effectiveTenant: String {
        guard let tenant, !tenant.isEmpty else { return OAuthEndpoints.defaultEntraTenant }
        return tenant
    }

    /// The authority as used to build endpoints (tolerates a trailing slash set after init).
    var base: String { Self.trimmingTrailingSlashes(authority) }

    public var authorizeEndpoint: String {
        switch dialect {
        case .entra: "\(base)/\(FormEncoding.percentEncode(effectiveTenant))/oauth2/v2.0/authorize"
        case .azureDevOpsLegacy: "\(base)/oauth2/authorize"
        case .github: "\(base)/login/oauth/authorize"
        case .gitlab: "\(base)/oauth/authorize"
        case .bitbucket: "\(base)/site/oauth2/authorize"
        }
    }

    public var tokenEndpoint: String {
        switch dialect {
        case .entra: "\(base)/\(FormEncoding.percentEncode(effectiveTenant))/oauth2/v2.0/token"
        case .azureDevOpsLegacy: "\(base)/oauth2/token"
        case .github: "\(base)/login/oauth/access_token"
        case .gitlab: "\(base)/oauth/token"
        case .bitbucket: "\(base)/site/oauth2/access_token"
        }
    }

    private static func trimmingTrailingSlashes(_ text: String) -> String {
        var text = Substring(text)
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
