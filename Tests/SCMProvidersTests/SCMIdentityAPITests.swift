import Foundation
import Testing
@testable import SCMProviders

/// SCMIdentityAPI: default API URLs, whoAmI requests, and reading the answers.
@Suite("SCM identity API")
struct SCMIdentityAPITests {
    @Test("default API URL per deployment", arguments: [
        ("https://dev.azure.com/Contoso/Web/_git/Portal", SCMProvider.azureDevOps, "https://dev.azure.com/contoso"),
        ("https://contoso.visualstudio.com/DefaultCollection", .azureDevOps, "https://dev.azure.com/contoso"),
        ("https://dev.azure.com/My%20Org", .azureDevOps, "https://dev.azure.com/my%20org"),
        ("https://tfs.example.com/tfs/DefaultCollection/P/_git/R", .azureDevOps, "https://tfs.example.com/tfs/defaultcollection"),
        ("https://ado.example.com:8443/Collection", .azureDevOps, "https://ado.example.com:8443/collection"),
        ("https://github.com/contoso", .github, "https://api.github.com"),
        ("https://github.com", .github, "https://api.github.com"),
        ("https://ghe.example.com/org", .github, "https://ghe.example.com/api/v3"),
        ("https://ghe.example.com:8443/org/repo", .github, "https://ghe.example.com:8443/api/v3"),
        ("https://gitlab.com/group/subgroup", .gitlab, "https://gitlab.com/api/v4"),
        ("https://gitlab.example.com/group", .gitlab, "https://gitlab.example.com/api/v4"),
        ("https://bitbucket.org/workspace", .bitbucket, "https://api.bitbucket.org/2.0"),
    ])
    func defaultAPIURL(text: String, provider: SCMProvider, expected: String) throws {
        let organization = try OrganizationURL.parse(text, provider: provider)
        #expect(SCMIdentityAPI.defaultAPIURL(for: organization) == expected)
    }

    @Test("whoAmI requests: URL and exact headers", arguments: [
        (SCMProvider.azureDevOps, "https://dev.azure.com/contoso", "https://dev.azure.com/contoso/_apis/connectionData",
         [("Accept", "application/json"), ("X-TFS-FedAuthRedirect", "Suppress")]),
        (.azureDevOps, "https://tfs.example.com/tfs/coll/", "https://tfs.example.com/tfs/coll/_apis/connectionData",
         [("Accept", "application/json"), ("X-TFS-FedAuthRedirect", "Suppress")]),
        (.github, "https://api.github.com", "https://api.github.com/user",
         [("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")]),
        (.github, "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/user",
         [("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")]),
        (.gitlab, "https://gitlab.com/api/v4", "https://gitlab.com/api/v4/user", [("Accept", "application/json")]),
        (.bitbucket, "https://api.bitbucket.org/2.0", "https://api.bitbucket.org/2.0/user", [("Accept", "application/json")]),
    ])
    func whoAmIRequest(provider: SCMProvider, apiURL: String, url: String, middle: [(String, String)]) {
        let request = SCMIdentityAPI.whoAmIRequest(provider: provider, apiURL: apiURL, accessToken: "tok-123")
        #expect(request.method == "GET")
        #expect(request.url == url)
        #expect(request.body == nil)
        let expected = [SCMHTTPHeader(name: "Authorization", value: "Bearer tok-123")]
            + middle.map { SCMHTTPHeader(name: $0.0, value: $0.1) }
            + [SCMHTTPHeader(name: "User-Agent", value: "scm-broker-runner")]
        #expect(request.headers == expected)
    }

    struct IdentityCase: CustomTestStringConvertible, Sendable {
        let name: String
        let provider: SCMProvider
        let response: SCMHTTPResponse
        let identity: SCMIdentity
        var testDescription: String { name }
    }

    static let identities: [IdentityCase] = [
        IdentityCase(
            name: "Azure DevOps with the Account property",
            provider: .azureDevOps,
            response: response(200, #"{"authenticatedUser":{"id":"6f7e2a1c-0000-4000-8000-000000000001","descriptor":"Microsoft.IdentityModel.Claims.ClaimsIdentity;72f988bf\\jamie@contoso.com","subjectDescriptor":"aad.x","providerDisplayName":"Jamie Doe","isActive":true,"properties":{"Account":{"$type":"System.String","$value":"jamie@contoso.com"}},"resourceVersion":2},"authorizedUser":{"id":"6f7e2a1c-0000-4000-8000-000000000001"},"instanceId":"00000000-0000-0000-0000-000000000000","deploymentType":"hosted"}"#),
            identity: SCMIdentity(id: "6f7e2a1c-0000-4000-8000-000000000001", username: "jamie@contoso.com", displayName: "Jamie Doe")),
        IdentityCase(
            name: "Azure DevOps without properties: the display name is the username",
            provider: .azureDevOps,
            response: response(200, #"{"authenticatedUser":{"id":"abc","providerDisplayName":"Jamie Doe"}}"#),
            identity: SCMIdentity(id: "abc", username: "Jamie Doe", displayName: "Jamie Doe")),
        IdentityCase(
            name: "GitHub: numeric id becomes a string",
            provider: .github,
            response: response(200, #"{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjE=","name":"The Octocat","site_admin":false}"#),
            identity: SCMIdentity(id: "583231", username: "octocat", displayName: "The Octocat")),
        IdentityCase(
            name: "GitHub: null name, id beyond 2^53 kept exactly",
            provider: .github,
            response: response(200, #"{"login":"bot","id":1152921504606846977,"name":null}"#),
            identity: SCMIdentity(id: "1152921504606846977", username: "bot", displayName: nil)),
        IdentityCase(
            name: "GitLab",
            provider: .gitlab,
            response: response(200, #"{"id":1,"username":"john_smith","name":"John Smith","state":"active"}"#),
            identity: SCMIdentity(id: "1", username: "john_smith", displayName: "John Smith")),
        IdentityCase(
            name: "Bitbucket: account_id and nickname",
            provider: .bitbucket,
            response: response(200, #"{"account_id":"557058:c0b7-1f","uuid":"{d301aafa-d676-4ee0-88be-962be7417567}","nickname":"tutorials","display_name":"tutorials account","type":"user"}"#),
            identity: SCMIdentity(id: "557058:c0b7-1f", username: "tutorials", displayName: "tutorials account")),
        IdentityCase(
            name: "Bitbucket: uuid and username when account_id is absent",
            provider: .bitbucket,
            response: response(200, #"{"uuid":"{d301aafa-d676-4ee0-88be-962be7417567}","username":"old-style","nickname":"nick","display_name":"Old"}"#),
            identity: SCMIdentity(id: "{d301aafa-d676-4ee0-88be-962be7417567}", username: "old-style", displayName: "Old")),
    ]

    @Test("whoAmI answers are read per provider", arguments: identities)
    func identity(_ testCase: IdentityCase) throws {
        let identity = try SCMIdentityAPI.parseWhoAmI(provider: testCase.provider, testCase.response)
        #expect(identity == testCase.identity)
    }

    struct RefusalCase: CustomTestStringConvertible, Sendable {
        let name: String
        let provider: SCMProvider
        let response: SCMHTTPResponse
        let code: OAuthFailure.Code
        let scmError: String?
        let messageContains: [String]
        var testDescription: String { name }

        init(_ name: String, _ provider: SCMProvider, _ response: SCMHTTPResponse, _ code: OAuthFailure.Code, _ scmError: String? = nil, _ messageContains: [String] = []) {
            self.name = name
            self.provider = provider
            self.response = response
            self.code = code
            self.scmError = scmError
            self.messageContains = messageContains
        }
    }

    static let tf400813 = #"{"$id":"1","innerException":null,"message":"TF400813: The user 'aad.x' is not authorized to access this resource.","typeName":"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException","typeKey":"UnauthorizedRequestException","errorCode":0}"#

    static let refusals: [RefusalCase] = [
        RefusalCase("Azure DevOps 401 TF400813: the org forbids OAuth apps", .azureDevOps, response(401, tf400813),
                    .oauthAppBlocked, "TF400813", ["Third-party application access via OAuth", "Azure DevOps", "admin"]),
        RefusalCase("Azure DevOps 403 TF400813 in the service-error header only", .azureDevOps,
                    response(403, "", headers: [("X-TFS-ServiceError", "TF400813%3A%20The%20user%20is%20not%20authorized")]),
                    .oauthAppBlocked, "TF400813"),
        RefusalCase("Azure DevOps 401 without TF400813", .azureDevOps, response(401, "", headers: []), .invalidToken),
        RefusalCase("Azure DevOps 203 sign-in page", .azureDevOps,
                    response(203, "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head></html>", headers: [("Content-Type", "text/html; charset=utf-8")]),
                    .invalidToken, nil, ["sign-in page"]),
        RefusalCase("Azure DevOps 203 even with JSON", .azureDevOps, response(203, #"{"authenticatedUser":{"id":"a","providerDisplayName":"b"}}"#), .invalidToken),
        RefusalCase("Azure DevOps 200 HTML without a content type", .azureDevOps, response(200, "  \n<html>sign in</html>", headers: []), .invalidToken),
        RefusalCase("Azure DevOps anonymous identity", .azureDevOps,
                    response(200, #"{"authenticatedUser":{"id":"aa","descriptor":"Microsoft.TeamFoundation.UnauthenticatedIdentity;S-1-0-0","providerDisplayName":"Anonymous"}}"#),
                    .unexpectedResponse),
        RefusalCase("Azure DevOps 404", .azureDevOps, response(404, "", headers: []), .scmError, nil, ["API URL"]),
        RefusalCase("GitHub 401 Bad credentials", .github, response(401, #"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}"#),
                    .invalidToken),
        RefusalCase("GitHub TF400813 text means nothing outside Azure DevOps", .github, response(401, tf400813), .invalidToken),
        RefusalCase("GitHub 403 rate limited is not an invalid token", .github,
                    response(403, #"{"message":"API rate limit exceeded"}"#, headers: [("x-ratelimit-remaining", "0"), ("Content-Type", "application/json")]),
                    .scmError, nil, ["rate limit"]),
        RefusalCase("429 with Retry-After", .gitlab, response(429, "Retry later", headers: [("Retry-After", "60")]), .scmError, nil, ["rate limit"]),
        RefusalCase("GitHub 200 HTML (web UI given as API URL)", .github, response(200, "<html></html>", headers: [("Content-Type", "text/html")]), .unexpectedResponse),
        RefusalCase("GitHub 200 without login", .github, response(200, #"{"id":1}"#), .unexpectedResponse),
        RefusalCase("GitHub login with a control character", .github, response(200, #"{"id":1,"login":"a\nb"}"#), .unexpectedResponse),
        RefusalCase("GitLab 401 invalid_token with description", .gitlab,
                    response(401, #"{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}"#),
                    .invalidToken, "invalid_token", ["Token was revoked."]),
        RefusalCase("GitLab 403 insufficient_scope", .gitlab,
                    response(403, #"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user api"}"#),
                    .scmError, "insufficient_scope", ["higher privileges"]),
        RefusalCase("Bitbucket 401 with an error object", .bitbucket, response(401, #"{"type":"error","error":{"message":"Access token expired."}}"#), .invalidToken),
        RefusalCase("Bitbucket 200 without ids", .bitbucket, response(200, #"{"display_name":"x"}"#), .unexpectedResponse),
        RefusalCase("GitLab 500", .gitlab, response(500, "<html>oops</html>", headers: [("Content-Type", "text/html")]), .unexpectedResponse, nil, ["HTTP 500"]),
        RefusalCase("not JSON", .gitlab, response(200, "hello", headers: []), .unexpectedResponse),
    ]

    @Test("refusals map to stable codes", arguments: refusals)
    func refusal(_ testCase: RefusalCase) throws {
        let failure = try #require(failure { () throws(OAuthFailure) in try SCMIdentityAPI.parseWhoAmI(provider: testCase.provider, testCase.response) })
        #expect(failure.code == testCase.code)
        #expect(failure.scmError == testCase.scmError)
        for fragment in testCase.messageContains {
            #expect(failure.message.contains(fragment))
        }
    }

    @Test("identities are Codable")
    func codable() throws {
        let identity = SCMIdentity(id: "1", username: "u", displayName: nil)
        #expect(try JSONDecoder().decode(SCMIdentity.self, from: JSONEncoder().encode(identity)) == identity)
    }
}
