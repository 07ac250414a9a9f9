/// Azure DevOps' URL forms (see shared/reference/scm-protocols.md):
/// - `https://dev.azure.com/{org}[/{project}/_git/{repo}]`, also with `{org}@` user-info;
/// - `https://{org}.visualstudio.com[/DefaultCollection][/{project}/_git/{repo}]`;
/// - Azure DevOps Server `https://{server}[:port][/tfs]/{collection}[/{project}/_git/{repo}]`;
/// - SSH `git@ssh.dev.azure.com:v3/{org}/{project}/{repo}` and
///   `{org}@vs-ssh.visualstudio.com:v3/{org}/{project}/{repo}`.
enum AzureDevOpsURL {
    static let cloudOrigin = "https://dev.azure.com"

    static func organization(_ location: SCMLocation) throws(SCMURLError) -> OrganizationURL {
        if location.isSSH { return try sshOrganization(location) }
        let host = location.host
        if host == "dev.azure.com" {
            guard let org = location.segments.first else {
                throw SCMURLError("an Azure DevOps URL must name the organization: https://dev.azure.com/{organization}")
            }
            return cloud(org)
        }
        if host.hasSuffix(".visualstudio.com") {
            let org = String(host.dropLast(".visualstudio.com".count))
            guard !org.isEmpty, !org.contains("."), org != "app", org != "vs-ssh" else {
                throw SCMURLError("unrecognised visualstudio.com host; use https://{organization}.visualstudio.com")
            }
            return cloud(org)
        }
        return try server(location)
    }

    private static func cloud(_ org: String) -> OrganizationURL {
        OrganizationURL(provider: .azureDevOps, deployment: .cloud, origin: cloudOrigin, path: [org])
    }

    private static func sshOrganization(_ location: SCMLocation) throws(SCMURLError) -> OrganizationURL {
        guard location.host == "ssh.dev.azure.com" || location.host == "vs-ssh.visualstudio.com",
              location.segments.count >= 2, location.segments[0] == "v3"
        else { throw SCMURLError("unrecognised Azure DevOps SSH URL; expected git@ssh.dev.azure.com:v3/{org}/{project}/{repo}") }
        return cloud(location.segments[1])
    }

    /// Server: the collection is the path before `{project}/_git`, or the whole path of an
    /// organization-level URL (`[/tfs]/{collection}`).
    private static func server(_ location: SCMLocation) throws(SCMURLError) -> OrganizationURL {
        let segments = location.segments
        let collection: [String]
        if let git = segments.firstIndex(where: { $0.lowercased() == "_git" }) {
            guard git >= 2 else { throw SCMURLError("an Azure DevOps Server repository URL needs {collection}/{project}/_git/{repo}") }
            collection = Array(segments[..<(git - 1)])
        } else {
            collection = segments
        }
        let isTFSPrefixed = collection.first?.lowercased() == "tfs"
        guard collection.count == (isTFSPrefixed ? 2 : 1) else {
            throw SCMURLError("an Azure DevOps Server URL must name one collection: https://{server}[/tfs]/{collection}")
        }
        return OrganizationURL(provider: .azureDevOps, deployment: .server, origin: location.origin, path: collection)
    }
}
