/// The source-control systems scm-broker brokers credentials for.
public enum SCMProvider: String, Codable, CaseIterable, Sendable {
    case azureDevOps = "azure-devops"
    case github
    case gitlab
    case bitbucket

    public var displayName: String {
        switch self {
        case .azureDevOps: "Azure DevOps"
        case .github: "GitHub"
        case .gitlab: "GitLab"
        case .bitbucket: "Bitbucket"
        }
    }

    /// The public service's origin, used when a URL names no host of its own.
    public var publicOrigin: String {
        switch self {
        case .azureDevOps: "https://dev.azure.com"
        case .github: "https://github.com"
        case .gitlab: "https://gitlab.com"
        case .bitbucket: "https://bitbucket.org"
        }
    }
}
