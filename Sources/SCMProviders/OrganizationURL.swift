import Foundation

/// The canonical form of the place an integration serves: an Azure DevOps organization or
/// Server collection, or a GitHub/GitLab/Bitbucket host with an optional owner path.
///
/// Canonical means comparable: lower-case host and names (all four services treat them
/// case-insensitively), percent-decoded then re-encoded, no trailing slash, and Azure DevOps'
/// older `{org}.visualstudio.com` form folded into `dev.azure.com/{org}`.
public struct OrganizationURL: Hashable, Sendable, CustomStringConvertible {
    public enum Deployment: String, Hashable, Sendable {
        /// The provider's hosted service (dev.azure.com, github.com, gitlab.com, bitbucket.org).
        case cloud
        /// A self-hosted server: Azure DevOps Server, GitHub Enterprise Server, self-managed GitLab.
        case server
    }

    public let provider: SCMProvider
    public let deployment: Deployment
    /// `scheme://host[:port]`.
    public let origin: String
    /// Decoded, lower-cased path segments naming the organization (may be empty for a host).
    public let path: [String]

    public var description: String { string }

    public var string: String {
        path.isEmpty ? origin : origin + "/" + path.map(Self.encodeSegment).joined(separator: "/")
    }

    public var host: String {
        URLComponents(string: origin)?.host ?? origin
    }

    /// Parses any organization-, host- or repository-level URL form the provider documents and
    /// reduces it to the organization.
    public static func parse(_ text: String, provider: SCMProvider) throws(SCMURLError) -> OrganizationURL {
        let location = try SCMLocation.parse(text)
        switch provider {
        case .azureDevOps:
            return try AzureDevOpsURL.organization(location)
        case .github, .bitbucket:
            return try hostWithOwner(location, provider: provider, ownerDepth: 1)
        case .gitlab:
            return try hostWithOwner(location, provider: provider, ownerDepth: nil)
        }
    }

    init(provider: SCMProvider, deployment: Deployment, origin: String, path: [String]) {
        self.provider = provider
        self.deployment = deployment
        self.origin = origin
        self.path = path.map { $0.lowercased() }
    }

    private static func hostWithOwner(_ location: SCMLocation, provider: SCMProvider, ownerDepth: Int?) throws(SCMURLError) -> OrganizationURL {
        var segments = location.segments
        // GitLab separates the project path from its pages with "/-/".
        if let dash = segments.firstIndex(of: "-") { segments = Array(segments[..<dash]) }
        if let last = segments.last, last.lowercased().hasSuffix(".git") {
            let name = String(last.dropLast(4))
            if name.isEmpty { segments.removeLast() } else { segments[segments.count - 1] = name }
        }
        if let ownerDepth { segments = Array(segments.prefix(ownerDepth)) }
        let deployment: Deployment = location.origin == provider.publicOrigin ? .cloud : .server
        if provider == .bitbucket, deployment == .server {
            throw SCMURLError("Bitbucket is supported as Bitbucket Cloud (bitbucket.org) only")
        }
        return OrganizationURL(provider: provider, deployment: deployment, origin: location.origin, path: segments)
    }

    static func encodeSegment(_ segment: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }
}
