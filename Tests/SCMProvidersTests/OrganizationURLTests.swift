import Testing
@testable import SCMProviders

/// OrganizationURL.parse: every documented URL form reduces to one canonical organization.
@Suite("Organization URLs")
struct OrganizationURLTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let input: String
        let provider: SCMProvider
        let canonical: String
        let deployment: OrganizationURL.Deployment
        var testDescription: String { "\(provider.rawValue): \(input)" }

        init(_ input: String, _ provider: SCMProvider, _ canonical: String, _ deployment: OrganizationURL.Deployment) {
            self.input = input
            self.provider = provider
            self.canonical = canonical
            self.deployment = deployment
        }
    }

    static let azureDevOps: [Case] = [
        // dev.azure.com
        Case("https://dev.azure.com/Contoso", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com/contoso/", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://DEV.AZURE.COM/CONTOSO", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com:443/contoso", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com/contoso/Web", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com/contoso/Web/_git/Portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com/contoso/Web/_git/Portal/", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://dev.azure.com/contoso/_git/Portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://contoso@dev.azure.com/contoso/Web/_git/Portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("  https://dev.azure.com/contoso  ", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        // Percent-encoded names.
        Case("https://dev.azure.com/My%20Org/My%20Project/_git/My%20Repo", .azureDevOps, "https://dev.azure.com/my%20org", .cloud),
        Case("https://dev.azure.com/%43ontoso", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        // {org}.visualstudio.com
        Case("https://contoso.visualstudio.com", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://contoso.visualstudio.com/", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://Contoso.VisualStudio.com", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://contoso.visualstudio.com/DefaultCollection", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://contoso.visualstudio.com/DefaultCollection/web/_git/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("https://contoso.visualstudio.com/web/_git/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        // Azure DevOps Server: origin + lower-cased collection path.
        Case("https://tfs.example.com/tfs/DefaultCollection", .azureDevOps, "https://tfs.example.com/tfs/defaultcollection", .server),
        Case("https://tfs.example.com/tfs/DefaultCollection/", .azureDevOps, "https://tfs.example.com/tfs/defaultcollection", .server),
        Case("https://tfs.example.com/TFS/DefaultCollection/Project/_git/Repo", .azureDevOps, "https://tfs.example.com/tfs/defaultcollection", .server),
        Case("https://tfs.example.com:8443/tfs/DefaultCollection/Project/_git/Repo", .azureDevOps, "https://tfs.example.com:8443/tfs/defaultcollection", .server),
        Case("https://ado.example.com/Collection", .azureDevOps, "https://ado.example.com/collection", .server),
        Case("https://ado.example.com/Collection/Project/_git/Repo", .azureDevOps, "https://ado.example.com/collection", .server),
        Case("https://ado.example.com/Collection/Project/_GIT/Repo", .azureDevOps, "https://ado.example.com/collection", .server),
        Case("https://ADO.example.com:443/Collection", .azureDevOps, "https://ado.example.com/collection", .server),
        Case("https://ado.example.com/My%20Collection", .azureDevOps, "https://ado.example.com/my%20collection", .server),
        Case("http://127.0.0.1:8080/coll", .azureDevOps, "http://127.0.0.1:8080/coll", .server),
        Case("http://localhost:8080/tfs/Coll", .azureDevOps, "http://localhost:8080/tfs/coll", .server),
        Case("http://localhost:80/Coll", .azureDevOps, "http://localhost/coll", .server),
        // SSH
        Case("git@ssh.dev.azure.com:v3/contoso/web/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("git@ssh.dev.azure.com:v3/Contoso/Web/Portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("contoso@vs-ssh.visualstudio.com:v3/contoso/web/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("ssh://git@ssh.dev.azure.com/v3/contoso/web/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
        Case("ssh://git@ssh.dev.azure.com:22/v3/contoso/web/portal", .azureDevOps, "https://dev.azure.com/contoso", .cloud),
    ]

    static let others: [Case] = [
        // GitHub
        Case("https://github.com", .github, "https://github.com", .cloud),
        Case("https://github.com/", .github, "https://github.com", .cloud),
        Case("https://github.com/Contoso", .github, "https://github.com/contoso", .cloud),
        Case("https://github.com/contoso/repo", .github, "https://github.com/contoso", .cloud),
        Case("https://github.com/contoso/repo.git", .github, "https://github.com/contoso", .cloud),
        Case("https://github.com/contoso/repo/tree/main/src", .github, "https://github.com/contoso", .cloud),
        Case("git@github.com:contoso/repo.git", .github, "https://github.com/contoso", .cloud),
        Case("git@github.com:Contoso/Repo", .github, "https://github.com/contoso", .cloud),
        Case("ssh://git@github.com/contoso/repo.git", .github, "https://github.com/contoso", .cloud),
        Case("https://ghe.example.com/org", .github, "https://ghe.example.com/org", .server),
        Case("https://ghe.example.com/Org/Repo.git", .github, "https://ghe.example.com/org", .server),
        Case("https://ghe.example.com", .github, "https://ghe.example.com", .server),
        Case("https://ghe.example.com:8443/org", .github, "https://ghe.example.com:8443/org", .server),
        Case("git@ghe.example.com:org/repo.git", .github, "https://ghe.example.com/org", .server),
        // GitLab: the whole group path, up to "/-/".
        Case("https://gitlab.com/group", .gitlab, "https://gitlab.com/group", .cloud),
        Case("https://gitlab.com/group/subgroup", .gitlab, "https://gitlab.com/group/subgroup", .cloud),
        Case("https://gitlab.com/Group/SubGroup/", .gitlab, "https://gitlab.com/group/subgroup", .cloud),
        Case("https://gitlab.com/group/subgroup/-/tree/main", .gitlab, "https://gitlab.com/group/subgroup", .cloud),
        Case("https://gitlab.example.com/group/-/tree/main", .gitlab, "https://gitlab.example.com/group", .server),
        Case("https://gitlab.example.com", .gitlab, "https://gitlab.example.com", .server),
        Case("git@gitlab.com:group/subgroup.git", .gitlab, "https://gitlab.com/group/subgroup", .cloud),
        // Bitbucket Cloud
        Case("https://bitbucket.org/workspace", .bitbucket, "https://bitbucket.org/workspace", .cloud),
        Case("https://bitbucket.org/Workspace/repo.git", .bitbucket, "https://bitbucket.org/workspace", .cloud),
        Case("https://bitbucket.org", .bitbucket, "https://bitbucket.org", .cloud),
        Case("git@bitbucket.org:workspace/repo.git", .bitbucket, "https://bitbucket.org/workspace", .cloud),
        Case("https://user@bitbucket.org/workspace/repo.git", .bitbucket, "https://bitbucket.org/workspace", .cloud),
    ]

    @Test("Azure DevOps forms normalise to the organization or collection", arguments: azureDevOps)
    func azureDevOpsForms(_ testCase: Case) throws {
        let url = try OrganizationURL.parse(testCase.input, provider: testCase.provider)
        #expect(url.string == testCase.canonical)
        #expect(url.description == testCase.canonical)
        #expect(url.deployment == testCase.deployment)
        #expect(url.provider == .azureDevOps)
    }

    @Test("GitHub, GitLab and Bitbucket forms normalise to host and owner", arguments: others)
    func otherForms(_ testCase: Case) throws {
        let url = try OrganizationURL.parse(testCase.input, provider: testCase.provider)
        #expect(url.string == testCase.canonical)
        #expect(url.deployment == testCase.deployment)
        #expect(url.provider == testCase.provider)
    }

    @Test("the canonical string parses back to itself", arguments: azureDevOps + others)
    func idempotent(_ testCase: Case) throws {
        let url = try OrganizationURL.parse(testCase.input, provider: testCase.provider)
        let again = try OrganizationURL.parse(url.string, provider: testCase.provider)
        #expect(again == url)
        #expect(again.string == url.string)
    }

    @Test("every Azure DevOps cloud form of one organization is the same value")
    func cloudFormsAreEqual() throws {
        let forms = [
            "https://dev.azure.com/Contoso", "https://contoso@dev.azure.com/contoso/Web/_git/Portal",
            "https://contoso.visualstudio.com", "https://contoso.visualstudio.com/DefaultCollection/web/_git/portal",
            "git@ssh.dev.azure.com:v3/contoso/web/portal", "contoso@vs-ssh.visualstudio.com:v3/contoso/web/portal",
        ]
        let parsed = try Set(forms.map { try OrganizationURL.parse($0, provider: .azureDevOps) })
        #expect(parsed.count == 1)
        let url = try #require(parsed.first)
        #expect(url.origin == "https://dev.azure.com")
        #expect(url.path == ["contoso"])
        #expect(url.host == "dev.azure.com")
    }

    @Test("Server components: origin keeps a non-default port, path is the decoded lower-cased collection")
    func serverComponents() throws {
        let url = try OrganizationURL.parse("https://tfs.example.com:8443/tfs/Default%20Collection/P/_git/R", provider: .azureDevOps)
        #expect(url.origin == "https://tfs.example.com:8443")
        #expect(url.path == ["tfs", "default collection"])
        #expect(url.host == "tfs.example.com")
        #expect(url.string == "https://tfs.example.com:8443/tfs/default%20collection")
    }

    @Test("an IPv6 literal host yields a well-formed, re-parseable origin")
    func ipv6Host() throws {
        let loopback = try OrganizationURL.parse("http://[::1]:8080/coll", provider: .azureDevOps)
        #expect(loopback.string == "http://[::1]:8080/coll")
        #expect(loopback.origin == "http://[::1]:8080")
        #expect(try OrganizationURL.parse(loopback.string, provider: .azureDevOps) == loopback)
        let server = try OrganizationURL.parse("https://[2001:db8::1]/Collection/Project/_git/Repo", provider: .azureDevOps)
        #expect(server.string == "https://[2001:db8::1]/collection")
        #expect(try OAuthEndpoints.normalizedAuthority("http://[::1]:8080/") == "http://[::1]:8080")
    }

    @Test("a last segment of only .git is dropped, and the result is canonical")
    func gitOnlySegment() throws {
        let url = try OrganizationURL.parse("https://github.com/.git", provider: .github)
        #expect(url.string == "https://github.com")
        #expect(try OrganizationURL.parse(url.string, provider: .github) == url)
    }

    @Test("SCP-style SSH with a password in the user part is refused")
    func scpPasswordRefused() {
        #expect(throws: SCMURLError.self) { try OrganizationURL.parse("user:secret@github.com:org/repo.git", provider: .github) }
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        let input: String
        let provider: SCMProvider
        var testDescription: String { "\(provider.rawValue): \(input.debugDescription)" }
        init(_ input: String, _ provider: SCMProvider = .azureDevOps) {
            self.input = input
            self.provider = provider
        }
    }

    static let refusals: [Refusal] = [
        Refusal("http://dev.azure.com/contoso"),
        Refusal("http://tfs.example.com/tfs/DefaultCollection"),
        Refusal("http://localhost.example.com/coll"),
        Refusal("http://127.0.0.1.example.com/coll"),
        Refusal("http://128.0.0.1/coll"),
        Refusal("https://user:secret@dev.azure.com/contoso"),
        Refusal("https://:secret@dev.azure.com/contoso"),
        Refusal("https://dev.azure.com"),
        Refusal("https://dev.azure.com/"),
        Refusal("ftp://x"),
        Refusal("ftp://dev.azure.com/contoso"),
        Refusal("file:///etc/passwd"),
        Refusal(""),
        Refusal("   "),
        Refusal("dev.azure.com/contoso"),
        Refusal("contoso"),
        Refusal("https://dev.azure.com/contoso?x=1"),
        Refusal("https://dev.azure.com/contoso?"),
        Refusal("https://dev.azure.com/contoso#readme"),
        Refusal("https://dev.azure.com/contoso\n"),
        Refusal("https://dev.azure.com/con\ntoso"),
        Refusal("https://dev.azure.com/contoso\r\nX-Injected: 1"),
        Refusal("https://dev.azure.com/con\u{7F}toso"),
        Refusal("https://dev.azure.com/con%0Atoso"),
        Refusal("https://tfs.example.com/a/b"),
        Refusal("https://tfs.example.com/a/b/c"),
        Refusal("https://tfs.example.com"),
        Refusal("https://tfs.example.com/tfs"),
        Refusal("https://tfs.example.com/tfs/a/b"),
        Refusal("https://tfs.example.com/Project/_git/Repo"),
        Refusal("https://tfs.example.com/_git/Repo"),
        Refusal("https://dev.azure.com/../x"),
        Refusal("https://dev.azure.com/%2e%2e/x"),
        Refusal("https://dev.azure.com/./x"),
        Refusal("https://dev.azure.com/a%2Fb"),
        Refusal("https://app.visualstudio.com"),
        Refusal("https://vs-ssh.visualstudio.com"),
        Refusal("https://a.b.visualstudio.com"),
        Refusal("git@github.com:contoso/repo.git"),
        Refusal("git@ssh.dev.azure.com:contoso/web/portal"),
        Refusal("git@ssh.dev.azure.com:v3"),
        Refusal("https://" + String(repeating: "a", count: 2050) + ".com/x"),
        Refusal("https://bitbucket.example.com/workspace", .bitbucket),
        Refusal("https://bitbucket.org.example.com/workspace", .bitbucket),
        Refusal("http://github.com/contoso", .github),
        Refusal("https://github.com/contoso?tab=repositories", .github),
        Refusal("https://gitlab.com/group/../other", .gitlab),
    ]

    @Test("refused inputs", arguments: refusals)
    func refused(_ refusal: Refusal) {
        #expect(throws: SCMURLError.self) { try OrganizationURL.parse(refusal.input, provider: refusal.provider) }
    }

    @Test("http is accepted for loopback hosts only", arguments: [
        "http://127.0.0.1:8080/coll", "http://127.0.0.1/coll", "http://127.1.2.3/coll", "http://localhost/coll", "http://LOCALHOST:9000/coll",
    ])
    func loopback(input: String) throws {
        let url = try OrganizationURL.parse(input, provider: .azureDevOps)
        #expect(url.origin.hasPrefix("http://"))
        #expect(url.deployment == .server)
        #expect(url.path == ["coll"])
    }

    @Test("a URL with credentials is refused with a message that does not echo them")
    func credentialsNotEchoed() {
        for input in ["https://user:secret@dev.azure.com/contoso", "https://contoso:secret@dev.azure.com/contoso/_git/x",
                      "https://user:secret@github.com/contoso"] {
            do throws(SCMURLError) {
                let url = try OrganizationURL.parse(input, provider: input.contains("github") ? .github : .azureDevOps)
                Issue.record("accepted \(url)")
            } catch {
                #expect(error == .credentialsInURL)
                #expect(!error.message.contains("secret"))
                #expect(!error.description.contains("secret"))
                #expect(!String(describing: error).contains("secret"))
            }
        }
    }

    @Test("no refusal message echoes the input")
    func messagesDoNotEchoInput() {
        for refusal in Self.refusals where !refusal.input.isEmpty {
            do throws(SCMURLError) {
                _ = try OrganizationURL.parse(refusal.input, provider: refusal.provider)
            } catch {
                #expect(!error.message.contains("secret"))
                #expect(!error.message.contains("contoso"), "\(refusal.input.debugDescription): \(error.message)")
            }
        }
    }

    @Test("specific refusal reasons")
    func refusalReasons() {
        #expect(throws: SCMURLError.insecure) { try OrganizationURL.parse("http://dev.azure.com/contoso", provider: .azureDevOps) }
        #expect(throws: SCMURLError.queryOrFragment) { try OrganizationURL.parse("https://dev.azure.com/contoso?x=1", provider: .azureDevOps) }
        #expect(throws: SCMURLError.queryOrFragment) { try OrganizationURL.parse("https://dev.azure.com/contoso#x", provider: .azureDevOps) }
        #expect(throws: SCMURLError.notAURL) { try OrganizationURL.parse("", provider: .azureDevOps) }
        #expect(throws: SCMURLError.notAURL) { try OrganizationURL.parse("ftp://x", provider: .azureDevOps) }
        #expect(throws: SCMURLError.notAURL) { try OrganizationURL.parse("https://dev.azure.com/x\ny", provider: .azureDevOps) }
        #expect(throws: SCMURLError.credentialsInURL) { try OrganizationURL.parse("https://u:p@dev.azure.com/x", provider: .azureDevOps) }
    }

    @Test("SCMProvider raw values, names and public origins")
    func providers() {
        #expect(SCMProvider.allCases.map(\.rawValue) == ["azure-devops", "github", "gitlab", "bitbucket"])
        #expect(SCMProvider.allCases.map(\.displayName) == ["Azure DevOps", "GitHub", "GitLab", "Bitbucket"])
        #expect(SCMProvider.allCases.map(\.publicOrigin)
            == ["https://dev.azure.com", "https://github.com", "https://gitlab.com", "https://bitbucket.org"])
    }
}
