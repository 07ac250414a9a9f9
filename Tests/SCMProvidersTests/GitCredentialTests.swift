import Foundation
import SCMProviders
import Testing

@Suite("Git credentials: which request names which clone URL, usernames, clone URLs")
struct GitCredentialTests {
    static let clone = "https://dev.azure.com/contoso/web/_git/portal"

    static let matching: [(String, String, String)] = [
        ("https", "dev.azure.com", "contoso/web/_git/portal"),
        ("https", "DEV.AZURE.COM", "Contoso/Web/_git/Portal"),
        ("https", "dev.azure.com:443", "contoso/web/_git/portal/"),
        ("https", "contoso@dev.azure.com", "contoso/web/_git/portal"),
        ("https", "dev.azure.com", "contoso/web/_git/portal.git"),
        ("https", "dev.azure.com", "contoso/web/_git/p%6Frtal"),
    ]

    @Test(arguments: matching)
    func namesTheCloneURL(_ scheme: String, _ host: String, _ path: String) {
        #expect(GitCredentialRequest(scheme: scheme, host: host, path: path).names(cloneURL: Self.clone))
    }

    static let refused: [(String, String, String?)] = [
        ("https", "dev.azure.com", nil),
        ("https", "dev.azure.com", "contoso/web/_git/billing"),
        ("https", "dev.azure.com", "contoso/web/_git/portal-evil"),
        ("https", "dev.azure.com", "contoso/web/_git"),
        ("https", "dev.azure.com", "contoso/web/_git/portal/../billing"),
        ("https", "evil.example.com", "contoso/web/_git/portal"),
        ("https", "dev.azure.com.evil.example.com", "contoso/web/_git/portal"),
        ("http", "dev.azure.com", "contoso/web/_git/portal"),
        ("https", "dev.azure.com:8443", "contoso/web/_git/portal"),
        ("https", "dev.azure.com", "fabrikam/web/_git/portal"),
    ]

    @Test(arguments: refused)
    func refusesEverythingElse(_ scheme: String, _ host: String, _ path: String?) {
        #expect(!GitCredentialRequest(scheme: scheme, host: host, path: path).names(cloneURL: Self.clone))
    }

    @Test func loopbackPortsAreCompared() {
        let clone = "http://127.0.0.1:9000/git/github/contoso/app"
        #expect(GitCredentialRequest(scheme: "http", host: "127.0.0.1:9000", path: "git/github/contoso/app.git").names(cloneURL: clone))
        #expect(!GitCredentialRequest(scheme: "http", host: "127.0.0.1:9001", path: "git/github/contoso/app.git").names(cloneURL: clone))
        #expect(!GitCredentialRequest(scheme: "http", host: "127.0.0.1", path: "git/github/contoso/app.git").names(cloneURL: clone))
    }

    @Test func aCloneURLThatDoesNotNormaliseMatchesNothing() {
        for clone in ["https://dev.azure.com/..", "https://dev.azure.com/", "https://dev.azure.com/%zz"] {
            for path in ["..", "", "%zz", "a/../.."] {
                #expect(!GitCredentialRequest(scheme: "https", host: "dev.azure.com", path: path).names(cloneURL: clone), "\(clone) \(path)")
            }
        }
    }

    @Test func parsesGitsLines() {
        let parsed = GitCredentialRequest.parse("protocol=https\nhost=github.com\npath=contoso/app.git\nwwwauth[]=Basic realm=\"GitHub\"\n")
        #expect(parsed == GitCredentialRequest(scheme: "https", host: "github.com", path: "contoso/app.git"))
        #expect(GitCredentialRequest.parse("protocol=https\nhost=github.com\n")?.path == nil)
        #expect(GitCredentialRequest.parse("host=github.com\n") == nil)
        #expect(GitCredentialRequest.parse("") == nil)
    }

    @Test func usernamesFollowEachProvidersConvention() {
        #expect(GitUsername.forToken(provider: .azureDevOps, isOAuthToken: false, storedUsername: nil) == "scm-broker")
        #expect(GitUsername.forToken(provider: .azureDevOps, isOAuthToken: false, storedUsername: "svc") == "svc")
        #expect(GitUsername.forToken(provider: .azureDevOps, isOAuthToken: true, storedUsername: "") == "scm-broker")
        #expect(GitUsername.forToken(provider: .github, isOAuthToken: false, storedUsername: nil) == "x-access-token")
        #expect(GitUsername.forToken(provider: .github, isOAuthToken: false, storedUsername: "alice") == "x-access-token")
        #expect(GitUsername.forToken(provider: .gitlab, isOAuthToken: true, storedUsername: nil) == "oauth2")
        #expect(GitUsername.forToken(provider: .bitbucket, isOAuthToken: true, storedUsername: "alice") == "x-token-auth")
        #expect(GitUsername.forToken(provider: .bitbucket, isOAuthToken: false, storedUsername: "alice") == "alice")
    }

    @Test func cloneURLsFollowTheGitBase() throws {
        let ado = try RepositoryURL.parse("git@ssh.dev.azure.com:v3/contoso/web/portal", provider: .azureDevOps)
        #expect(ado.pathBelowOrigin == "/contoso/web/_git/portal")
        #expect(ado.cloneURL(gitBase: nil) == "https://dev.azure.com/contoso/web/_git/portal")
        #expect(ado.cloneURL(gitBase: "http://127.0.0.1:9000/git/ado/") == "http://127.0.0.1:9000/git/ado/contoso/web/_git/portal")
        let server = try RepositoryURL.parse("https://ado.example.com/tfs/Coll/web/_git/portal", provider: .azureDevOps)
        #expect(server.cloneURL(gitBase: nil) == "https://ado.example.com/tfs/coll/web/_git/portal")
        let github = try RepositoryURL.parse("git@github.com:Contoso/App.git", provider: .github)
        #expect(github.cloneURL(gitBase: nil) == "https://github.com/contoso/app")
        #expect(GitCredentialRequest(scheme: "https", host: "github.com", path: "Contoso/App.git").names(cloneURL: github.cloneURL(gitBase: nil)))
    }
}

@Suite("GitHub App installation tokens")
struct GitHubAppInstallationTests {
    @Test func theRequestAsksForOneRepositoryAndTheContentsPermission() throws {
        let installation = GitHubAppInstallation(apiURL: "https://api.github.com/", installationID: "777")
        let request = installation.accessTokenRequest(appJWT: "app.jwt.sig", repository: "app\"x", access: .write)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.github.com/app/installations/777/access_tokens")
        #expect(request.header("Authorization") == "Bearer app.jwt.sig")
        #expect(request.header("Accept") == "application/vnd.github+json")
        let body = try JSONSerialization.jsonObject(with: Data(request.body ?? [])) as? [String: Any]
        #expect(body?["repositories"] as? [String] == ["app\"x"])
        #expect((body?["permissions"] as? [String: String]) == ["contents": "write"])
        #expect(!request.description.contains("app.jwt.sig"), "the JWT is never printed")
    }

    @Test func answersAreReadWithoutAssumingATokenLength() throws {
        let installation = GitHubAppInstallation(apiURL: "https://api.github.com", installationID: "1")
        let long = "ghs_" + String(repeating: "a", count: 516)
        let token = try installation.parseAccessToken(SCMHTTPResponse(status: 201, body: Array(#"{"token":"\#(long)","expires_at":"2030-01-01T00:00:00Z"}"#.utf8)))
        #expect(token.token == long)
        #expect(token.expiresAt == ISO8601DateFormatter().date(from: "2030-01-01T00:00:00Z"))
        let cases: [(Int, String, GitHubAppFailure.Code)] = [
            (401, #"{"message":"A JSON web token could not be decoded"}"#, .appRejected),
            (422, #"{"message":"There is at least one repository that does not exist"}"#, .repositoryNotInstalled),
            (404, #"{"message":"Not Found"}"#, .repositoryNotInstalled),
            (500, "<html>", .scmError),
            (201, "{}", .scmError),
        ]
        for (status, body, code) in cases {
            let result = Result { () throws(GitHubAppFailure) in
                try installation.parseAccessToken(SCMHTTPResponse(status: status, body: Array(body.utf8)))
            }
            guard case .failure(let failure) = result else {
                Issue.record("\(status) \(body) was accepted")
                continue
            }
            #expect(failure.code == code, "\(status) \(body)")
        }
    }
}
