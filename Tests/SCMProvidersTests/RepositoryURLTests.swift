import Foundation
import SCMProviders
import Testing

@Suite("Repository URLs: every form, canonical https")
struct RepositoryURLTests {
    static let azure: [(String, String)] = [
        ("https://dev.azure.com/contoso/web/_git/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("https://dev.azure.com/Contoso/Web/_git/Portal/", "https://dev.azure.com/contoso/web/_git/portal"),
        ("https://contoso@dev.azure.com/contoso/web/_git/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("https://dev.azure.com/contoso/My%20Project/_git/My%20Repo", "https://dev.azure.com/contoso/my%20project/_git/my%20repo"),
        ("https://dev.azure.com/contoso/_git/portal", "https://dev.azure.com/contoso/portal/_git/portal"),
        ("https://contoso.visualstudio.com/web/_git/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("https://contoso.visualstudio.com/DefaultCollection/web/_git/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("git@ssh.dev.azure.com:v3/contoso/web/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("contoso@vs-ssh.visualstudio.com:v3/contoso/web/portal", "https://dev.azure.com/contoso/web/_git/portal"),
        ("https://ado.example.com/tfs/DefaultCollection/web/_git/portal", "https://ado.example.com/tfs/defaultcollection/web/_git/portal"),
        ("https://ado.example.com:8443/Collection/web/_git/portal", "https://ado.example.com:8443/collection/web/_git/portal"),
    ]

    @Test(arguments: azure)
    func azureDevOps(_ input: String, _ canonical: String) throws {
        let repository = try RepositoryURL.parse(input, provider: .azureDevOps)
        #expect(repository.string == canonical)
        #expect(repository.name == "portal" || repository.name == "my repo")
        #expect(repository.belongs(to: repository.organization))
    }

    static let others: [(SCMProvider, String, String)] = [
        (.github, "https://github.com/Contoso/Portal.git", "https://github.com/contoso/portal"),
        (.github, "https://github.com/contoso/portal/tree/main/src", "https://github.com/contoso/portal"),
        (.github, "git@github.com:contoso/portal.git", "https://github.com/contoso/portal"),
        (.github, "https://ghe.example.com/contoso/portal", "https://ghe.example.com/contoso/portal"),
        (.gitlab, "https://gitlab.com/group/sub/portal.git", "https://gitlab.com/group/sub/portal"),
        (.gitlab, "https://gitlab.example.com/group/portal/-/tree/main", "https://gitlab.example.com/group/portal"),
        (.gitlab, "git@gitlab.com:group/sub/portal.git", "https://gitlab.com/group/sub/portal"),
        (.bitbucket, "https://bitbucket.org/workspace/portal.git", "https://bitbucket.org/workspace/portal"),
        (.bitbucket, "git@bitbucket.org:workspace/portal.git", "https://bitbucket.org/workspace/portal"),
    ]

    @Test(arguments: others)
    func githubGitLabBitbucket(_ provider: SCMProvider, _ input: String, _ canonical: String) throws {
        let repository = try RepositoryURL.parse(input, provider: provider)
        #expect(repository.string == canonical)
        #expect(repository.name == "portal")
    }

    static let rejects: [(SCMProvider, String)] = [
        (.azureDevOps, "https://dev.azure.com/contoso"),
        (.azureDevOps, "https://dev.azure.com/contoso/web"),
        (.azureDevOps, "https://dev.azure.com/contoso/web/_git"),
        (.azureDevOps, "git@ssh.dev.azure.com:v3/contoso/web"),
        (.azureDevOps, "https://user:token@dev.azure.com/contoso/web/_git/portal"),
        (.azureDevOps, "http://dev.azure.com/contoso/web/_git/portal"),
        (.github, "https://github.com/contoso"),
        (.github, "https://github.com/contoso/portal?tab=readme"),
        (.gitlab, "https://gitlab.com/group"),
        (.bitbucket, "https://bitbucket.example.com/workspace/portal"),
        (.github, "ftp://github.com/contoso/portal"),
        (.github, "not a url"),
    ]

    @Test(arguments: rejects)
    func rejected(_ provider: SCMProvider, _ input: String) {
        #expect(throws: SCMURLError.self) { try RepositoryURL.parse(input, provider: provider) }
    }

    @Test func aRepositoryBelongsToItsOrganizationAndItsHostButNotToAnother() throws {
        let repository = try RepositoryURL.parse("https://gitlab.com/group/sub/portal", provider: .gitlab)
        #expect(repository.belongs(to: try OrganizationURL.parse("https://gitlab.com/group", provider: .gitlab)))
        #expect(repository.belongs(to: try OrganizationURL.parse("https://gitlab.com/group/sub", provider: .gitlab)))
        #expect(repository.belongs(to: try OrganizationURL.parse("https://gitlab.com", provider: .gitlab)))
        #expect(!repository.belongs(to: try OrganizationURL.parse("https://gitlab.com/other", provider: .gitlab)))
        #expect(!repository.belongs(to: try OrganizationURL.parse("https://gitlab.example.com/group", provider: .gitlab)))
        let ado = try RepositoryURL.parse("https://dev.azure.com/contoso/web/_git/portal", provider: .azureDevOps)
        #expect(ado.belongs(to: try OrganizationURL.parse("https://contoso.visualstudio.com", provider: .azureDevOps)))
        #expect(!ado.belongs(to: try OrganizationURL.parse("https://dev.azure.com/fabrikam", provider: .azureDevOps)))
    }
}
