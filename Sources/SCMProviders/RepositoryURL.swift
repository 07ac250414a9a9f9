import Foundation

/// A repository in canonical form: its organization, and its https clone URL with lower-cased,
/// percent-decoded then re-encoded names. Every form `OrganizationURL` accepts at repository
/// level is understood, SSH forms mapping to their https equivalents:
/// - Azure DevOps `…/{org}/{project}/_git/{repo}` (cloud, `{org}@`, visualstudio.com with or
///   without DefaultCollection, Server `[/tfs]/{collection}/{project}/_git/{repo}`,
///   `{org}/_git/{repo}` for a repository named like its project), and both SSH forms
///   `…:v3/{org}/{project}/{repo}`;
/// - GitHub and Bitbucket `{owner}/{repo}[.git]`, GitLab `{group}[/{subgroup}…]/{repo}[.git]`.
public struct RepositoryURL: Hashable, Sendable, CustomStringConvertible {
    public let organization: OrganizationURL
    /// Azure DevOps only.
    public let project: String?
    /// Path below the origin for GitHub, GitLab and Bitbucket (owner or groups, then the name).
    public let path: [String]
    public let name: String

    public var description: String { string }

    /// The https clone URL.
    public var string: String {
        switch organization.provider {
        case .azureDevOps:
            [organization.string, OrganizationURL.encodeSegment(project ?? name), "_git", OrganizationURL.encodeSegment(name)].joined(separator: "/")
        case .github, .gitlab, .bitbucket:
            organization.origin + "/" + path.map(OrganizationURL.encodeSegment).joined(separator: "/")
        }
    }

    public static func parse(_ text: String, provider: SCMProvider) throws(SCMURLError) -> RepositoryURL {
        let location = try SCMLocation.parse(text)
        let organization = try OrganizationURL.parse(text, provider: provider)
        switch provider {
        case .azureDevOps:
            let (project, name) = try azureDevOpsRepository(location, organization: organization)
            return RepositoryURL(organization: organization, project: project.lowercased(), path: [], name: name.lowercased())
        case .github, .bitbucket, .gitlab:
            var segments = location.segments
            if let dash = segments.firstIndex(of: "-") { segments = Array(segments[..<dash]) }
            if provider != .gitlab { segments = Array(segments.prefix(2)) }
            if var last = segments.last, last.lowercased().hasSuffix(".git") {
                last.removeLast(4)
                segments[segments.count - 1] = last
            }
            guard segments.count >= 2, segments.allSatisfy({ !$0.isEmpty }) else {
                throw SCMURLError("a \(provider.displayName) repository URL names an owner and a repository: \(provider.publicOrigin)/{owner}/{repository}")
            }
            let path = segments.map { $0.lowercased() }
            return RepositoryURL(organization: organization, project: nil, path: path, name: path.last!)
        }
    }

    /// Whether this repository lies under `organization` (same origin, and its path a prefix).
    public func belongs(to other: OrganizationURL) -> Bool {
        guard other.provider == organization.provider, other.origin == organization.origin else { return false }
        let full = organization.provider == .azureDevOps ? organization.path : path
        return other.path.count <= full.count && Array(full.prefix(other.path.count)) == other.path
    }

    private static func azureDevOpsRepository(_ location: SCMLocation, organization: OrganizationURL) throws(SCMURLError) -> (String, String) {
        let segments = location.segments
        if location.isSSH {
            // v3/{org}/{project}/{repo}
            guard segments.count == 4 else { throw SCMURLError("an Azure DevOps SSH URL ends in v3/{organization}/{project}/{repository}") }
            return (segments[2], segments[3])
        }
        guard let git = segments.firstIndex(where: { $0.lowercased() == "_git" }), git + 1 < segments.count else {
            throw SCMURLError("an Azure DevOps repository URL ends in /{project}/_git/{repository}")
        }
        let name = segments[git + 1]
        // The organization (or collection) takes the segments before the project, if any.
        let organizationSegments = location.host == "dev.azure.com" ? 1 : location.host.hasSuffix(".visualstudio.com") ? 0 : organization.path.count
        var before = Array(segments[..<git])
        if location.host.hasSuffix(".visualstudio.com"), before.first?.lowercased() == "defaultcollection" { before.removeFirst() }
        let projectSegments = before.dropFirst(organizationSegments)
        guard projectSegments.count <= 1 else { throw SCMURLError("unrecognised Azure DevOps repository URL") }
        return (projectSegments.first ?? name, name)
    }
}
