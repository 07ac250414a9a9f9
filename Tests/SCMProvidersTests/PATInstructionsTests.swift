import Foundation
import SCMProviders
import Testing

@Suite("PAT instructions: deep links per provider")
struct PATInstructionsTests {
    @Test(arguments: [
        (SCMProvider.azureDevOps, "https://dev.azure.com/Contoso/web/_git/portal", "https://dev.azure.com/contoso/_usersSettings/tokens", false),
        (.azureDevOps, "https://ado.example.com/tfs/DefaultCollection", "https://ado.example.com/tfs/defaultcollection/_usersSettings/tokens", false),
        (.github, "https://github.com/contoso", "https://github.com/settings/tokens/new?description=scm-broker&scopes=repo", false),
        (.github, "https://ghe.example.com/contoso", "https://ghe.example.com/settings/tokens/new?description=scm-broker&scopes=repo", false),
        (.gitlab, "https://gitlab.example.com/group", "https://gitlab.example.com/-/user_settings/personal_access_tokens?name=scm-broker&scopes=read_repository,write_repository,read_user", false),
        (.bitbucket, "https://bitbucket.org/workspace", "https://bitbucket.org/account/settings/app-passwords/new", true),
    ])
    func deepLinks(_ provider: SCMProvider, _ url: String, _ link: String, _ needsUsername: Bool) throws {
        let instructions = PATInstructions.instructions(for: try OrganizationURL.parse(url, provider: provider))
        #expect(instructions.tokenPageURL == link)
        #expect(instructions.needsUsername == needsUsername)
        if provider == .azureDevOps { #expect(instructions.steps.contains { $0.contains("Code: Read & write") }) }
        if provider != .bitbucket { #expect(instructions.steps.contains { $0.contains("30 days") }) }
    }

    @Test func aRateLimitOrServerErrorIsRetriedAndNotAVerdict() {
        #expect(PATCheck.retryDelay(SCMHTTPResponse(status: 429, headers: [.init(name: "Retry-After", value: "3")], body: [])) == 3)
        #expect(PATCheck.retryDelay(SCMHTTPResponse(status: 403, headers: [.init(name: "X-RateLimit-Remaining", value: "0")], body: [])) != nil)
        #expect(PATCheck.retryDelay(SCMHTTPResponse(status: 503, body: [])) != nil)
        #expect(PATCheck.retryDelay(SCMHTTPResponse(status: 403, body: [])) == nil)
        #expect(PATCheck.retryDelay(SCMHTTPResponse(status: 401, body: [])) == nil)
    }

    @Test func azureDevOpsAnswersA203SignInPageToABadToken() throws {
        let check = PATCheck(provider: .azureDevOps, apiURL: "https://dev.azure.com/contoso", token: "t", username: nil)
        let request = try #require(check.request(.identity))
        #expect(request.header("X-TFS-FedAuthRedirect") == "Suppress")
        #expect(request.header("Authorization")?.hasPrefix("Basic ") == true)
        let credentials = String(decoding: Data(base64Encoded: String(request.header("Authorization")!.dropFirst(6)))!, as: UTF8.self)
        #expect(credentials == "scm-broker:t", "a non-empty username")
        #expect(throws: PATFailure.self) {
            try check.readIdentity(SCMHTTPResponse(status: 203, headers: [.init(name: "Content-Type", value: "text/html")], body: Array("<html>".utf8)))
        }
        do {
            _ = try check.readIdentity(SCMHTTPResponse(status: 200, headers: [.init(name: "Content-Type", value: "text/html")], body: Array("<!DOCTYPE html><html>".utf8)))
            Issue.record("an HTML 200 is not a valid answer")
        } catch {
            #expect(error.code == .invalidCredentials)
        }
    }

    @Test(arguments: ["nan", "inf", "-1", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT", ""])
    func aRetryAfterThatIsNotWholeSecondsFallsBackToTheDefault(_ value: String) {
        let delay = PATCheck.retryDelay(SCMHTTPResponse(status: 429, headers: [.init(name: "Retry-After", value: value)], body: []))
        #expect(delay == 1)
    }

    @Test func aBitbucket403IsMissingPermissionNotAnOutage() {
        let check = PATCheck(provider: .bitbucket, apiURL: "https://api.bitbucket.org/2.0", token: "t", username: "alice")
        do {
            _ = try check.readIdentity(SCMHTTPResponse(status: 403, body: Array(#"{"type":"error"}"#.utf8)))
            Issue.record("a 403 is a verdict")
        } catch {
            #expect(error.code == .invalidPermissions)
        }
    }
}
