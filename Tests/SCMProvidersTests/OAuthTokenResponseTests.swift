import Foundation
import Testing
@testable import SCMProviders

/// OAuthClient.parseTokenResponse and OAuthFailure: grants, quirks, and every failure code.
@Suite("OAuth token responses")
struct OAuthTokenResponseTests {
    typealias F = OAuthFixtures

    struct GrantCase: CustomTestStringConvertible, Sendable {
        let name: String
        let client: OAuthClient
        let response: SCMHTTPResponse
        let grant: OAuthTokenGrant
        var testDescription: String { name }
    }

    static let grants: [GrantCase] = [
        GrantCase(
            name: "Entra: number expires_in, space-separated scope",
            client: F.entra,
            response: response(200, #"{"token_type":"Bearer","scope":"499b84ac-1321-427f-aa17-267ca6975798/vso.code_write","expires_in":4355,"ext_expires_in":4355,"access_token":"eyJ0.a.b","refresh_token":"1.AQ-r"}"#),
            grant: OAuthTokenGrant(accessToken: "eyJ0.a.b", refreshToken: "1.AQ-r", expiresIn: 4355,
                                   scopes: ["499b84ac-1321-427f-aa17-267ca6975798/vso.code_write"], tokenType: "Bearer")),
        GrantCase(
            name: "legacy Azure DevOps: expires_in as a string",
            client: F.legacy,
            response: response(200, #"{"access_token":"eyJ0eXAi.x.y","token_type":"jwt-bearer","expires_in":"3599","refresh_token":"eyJ0eXAi.r.s","scope":"vso.code_write vso.profile"}"#),
            grant: OAuthTokenGrant(accessToken: "eyJ0eXAi.x.y", refreshToken: "eyJ0eXAi.r.s", expiresIn: 3599,
                                   scopes: ["vso.code_write", "vso.profile"], tokenType: "jwt-bearer")),
        GrantCase(
            name: "GitHub OAuth app: comma-separated scopes, no expiry",
            client: F.github,
            response: response(200, #"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","scope":"repo,gist","token_type":"bearer"}"#),
            grant: OAuthTokenGrant(accessToken: "gho_16C7e42F292c6912E7710c838347Ae178B4a", scopes: ["repo", "gist"], tokenType: "bearer")),
        GrantCase(
            name: "GitHub App user token: refresh token and expiry, empty scope",
            client: F.ghes,
            response: response(200, #"{"access_token":"ghu_abc","expires_in":28800,"refresh_token":"ghr_def","refresh_token_expires_in":15811200,"scope":"","token_type":"bearer"}"#),
            grant: OAuthTokenGrant(accessToken: "ghu_abc", refreshToken: "ghr_def", expiresIn: 28800, scopes: [], tokenType: "bearer")),
        GrantCase(
            name: "GitHub answering form-encoded (Accept lost by a proxy)",
            client: F.github,
            response: response(200, "access_token=gho_x%2By&scope=repo%2Cgist&token_type=bearer",
                               headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]),
            grant: OAuthTokenGrant(accessToken: "gho_x+y", scopes: ["repo", "gist"], tokenType: "bearer")),
        GrantCase(
            name: "GitLab: space-separated scope, created_at ignored",
            client: F.gitlab,
            response: response(200, #"{"access_token":"gl-at","token_type":"Bearer","expires_in":7200,"refresh_token":"gl-rt","scope":"read_user write_repository","created_at":1607635748}"#),
            grant: OAuthTokenGrant(accessToken: "gl-at", refreshToken: "gl-rt", expiresIn: 7200, scopes: ["read_user", "write_repository"], tokenType: "Bearer")),
        GrantCase(
            name: "Bitbucket: scopes in `scopes`",
            client: F.bitbucket,
            response: response(200, #"{"access_token":"bb/at=","scopes":"repository:write account","expires_in":7200,"refresh_token":"bb-rt","token_type":"bearer","state":"authorization_code"}"#),
            grant: OAuthTokenGrant(accessToken: "bb/at=", refreshToken: "bb-rt", expiresIn: 7200, scopes: ["repository:write", "account"], tokenType: "bearer")),
        GrantCase(
            name: "201 is success; a float expiry, null refresh token",
            client: F.gitlab,
            response: response(201, #"{"access_token":"at","expires_in":7200.0,"refresh_token":null}"#),
            grant: OAuthTokenGrant(accessToken: "at", expiresIn: 7200)),
        GrantCase(
            name: "unusable expires_in is dropped, not fatal",
            client: F.entra,
            response: response(200, #"{"access_token":"at","expires_in":"soon","refresh_token":""}"#),
            grant: OAuthTokenGrant(accessToken: "at")),
        GrantCase(
            name: "negative expires_in is dropped",
            client: F.github,
            response: response(200, #"{"access_token":"at","expires_in":-5}"#),
            grant: OAuthTokenGrant(accessToken: "at")),
    ]

    @Test("2xx with an access token is a grant", arguments: grants)
    func grant(_ testCase: GrantCase) throws {
        let grant = try testCase.client.parseTokenResponse(testCase.response)
        #expect(grant == testCase.grant)
    }

    struct FailureCase: CustomTestStringConvertible, Sendable {
        let name: String
        let client: OAuthClient
        let response: SCMHTTPResponse
        let code: OAuthFailure.Code
        let scmError: String?
        let messageContains: [String]
        var testDescription: String { name }

        init(_ name: String, _ client: OAuthClient, _ response: SCMHTTPResponse, _ code: OAuthFailure.Code, _ scmError: String?, _ messageContains: [String] = []) {
            self.name = name
            self.client = client
            self.response = response
            self.code = code
            self.scmError = scmError
            self.messageContains = messageContains
        }
    }

    static let failures: [FailureCase] = [
        // GitHub reports OAuth errors with HTTP 200.
        FailureCase("GitHub 200 bad_verification_code", F.github,
                    response(200, #"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"https://docs.github.com/apps/troubleshooting"}"#),
                    .invalidGrant, "bad_verification_code", ["The code passed is incorrect or expired."]),
        FailureCase("GitHub 200 bad_refresh_token", F.github, response(200, #"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}"#),
                    .invalidGrant, "bad_refresh_token"),
        FailureCase("GitHub 200 redirect_uri_mismatch", F.github, response(200, #"{"error":"redirect_uri_mismatch"}"#),
                    .invalidGrant, "redirect_uri_mismatch", ["redirect URI"]),
        FailureCase("GitHub 200 incorrect_client_credentials", F.github,
                    response(200, #"{"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect."}"#),
                    .invalidClient, "incorrect_client_credentials", ["client ID or secret"]),
        FailureCase("GitHub 200 with both error and access_token is a failure", F.github,
                    response(200, #"{"error":"bad_verification_code","access_token":"gho_notreally"}"#), .invalidGrant, "bad_verification_code"),
        FailureCase("GitHub 200 unverified_user_email", F.github, response(200, #"{"error":"unverified_user_email"}"#),
                    .scmError, "unverified_user_email", ["unverified_user_email"]),
        FailureCase("GitHub form-encoded error", F.github,
                    response(200, "error=bad_verification_code&error_description=The+code+passed+is+incorrect", headers: [("Content-Type", "application/x-www-form-urlencoded")]),
                    .invalidGrant, "bad_verification_code", ["The code passed is incorrect"]),
        // Entra.
        FailureCase("Entra invalid_grant", F.entra,
                    response(400, #"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.","error_codes":[70008]}"#),
                    .invalidGrant, "invalid_grant", ["AADSTS70008"]),
        FailureCase("Entra secret id instead of value", F.entra,
                    response(401, #"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '11111111-2222-3333-4444-555555555555'."}"#),
                    .invalidClient, "invalid_client", ["not its secret ID", "value", "Microsoft Entra ID said: \"AADSTS7000215"]),
        FailureCase("Entra expired secret", F.entraTenant,
                    response(401, #"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys for app '1' are expired."}"#),
                    .invalidClient, "invalid_client", ["expired"]),
        FailureCase("Entra invalid_scope", F.entra, response(400, #"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for scope is not valid."}"#),
                    .oauthAppBlocked, "invalid_scope", ["administrator"]),
        FailureCase("Entra unauthorized_client", F.entra, response(400, #"{"error":"unauthorized_client","error_description":"AADSTS700016: Application not found in the directory."}"#),
                    .oauthAppBlocked, "unauthorized_client"),
        FailureCase("Entra access_denied", F.entra, response(400, #"{"error":"access_denied"}"#), .accessDenied, "access_denied", ["declined"]),
        FailureCase("Entra invalid_request", F.entra, response(400, #"{"error":"invalid_request","error_description":"AADSTS900144: The request body must contain the following parameter: 'grant_type'."}"#),
                    .scmError, "invalid_request", ["AADSTS900144"]),
        // Legacy Azure DevOps, capitalised keys.
        FailureCase("legacy App Secret pasted", F.legacy,
                    response(400, #"{"Error":"invalid_client","ErrorDescription":"Failed to deserialize the JsonWebToken object."}"#),
                    .invalidClient, "invalid_client", ["\"App Secret\"", "\"Client Secret\""]),
        FailureCase("legacy invalid_grant capitalised", F.legacy, response(400, #"{"Error":"invalid_grant","ErrorDescription":"Token is expired"}"#),
                    .invalidGrant, "invalid_grant", ["Token is expired"]),
        FailureCase("legacy capitalised in a 200", F.legacy, response(200, #"{"Error":"invalid_client","ErrorDescription":"Invalid client"}"#),
                    .invalidClient, "invalid_client"),
        // GitLab and Bitbucket.
        FailureCase("GitLab invalid_grant", F.gitlab,
                    response(400, #"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}"#),
                    .invalidGrant, "invalid_grant"),
        FailureCase("GitLab invalid_client 401", F.gitlab, response(401, #"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#),
                    .invalidClient, "invalid_client"),
        FailureCase("Bitbucket unauthorized_client", F.bitbucket, response(400, #"{"error_description": "Cannot find consumer", "error": "unauthorized_client"}"#),
                    .oauthAppBlocked, "unauthorized_client"),
        FailureCase("Bitbucket invalid_grant", F.bitbucket, response(400, #"{"error_description":"Invalid refresh_token","error":"invalid_grant"}"#),
                    .invalidGrant, "invalid_grant"),
        // Unusable answers.
        FailureCase("missing access_token", F.gitlab, response(200, #"{"token_type":"Bearer","expires_in":7200}"#), .unexpectedResponse, nil),
        FailureCase("empty access_token", F.github, response(200, #"{"access_token":""}"#), .unexpectedResponse, nil),
        FailureCase("access_token not a string", F.github, response(200, #"{"access_token":12345}"#), .unexpectedResponse, nil),
        FailureCase("access_token with a line break (header injection)", F.gitlab, response(200, #"{"access_token":"abc\r\nX-Evil: 1"}"#), .unexpectedResponse, nil),
        FailureCase("refresh_token with a space", F.gitlab, response(200, #"{"access_token":"abc","refresh_token":"a b"}"#), .unexpectedResponse, nil),
        FailureCase("HTML 200", F.entra, response(200, "<html><body>Sign in</body></html>", headers: [("Content-Type", "text/html")]), .unexpectedResponse, nil),
        FailureCase("JSON array", F.entra, response(200, #"[{"access_token":"x"}]"#), .unexpectedResponse, nil),
        FailureCase("empty body", F.bitbucket, response(200, ""), .unexpectedResponse, nil),
        FailureCase("form body without form content type", F.github, response(200, "access_token=gho_x", headers: [("Content-Type", "text/plain")]), .unexpectedResponse, nil),
        FailureCase("400 without an error field", F.gitlab, response(400, #"{"message":"nope"}"#), .unexpectedResponse, nil, ["HTTP 400"]),
        FailureCase("404 HTML", F.ghes, response(404, "<html>Not Found</html>", headers: [("Content-Type", "text/html")]), .unexpectedResponse, nil, ["HTTP 404"]),
        FailureCase("502 HTML", F.github, response(502, "<html>Bad Gateway</html>", headers: [("Content-Type", "text/html")]), .unexpectedResponse, nil, ["HTTP 502", "try again"]),
        FailureCase("503 with an OAuth error stays transient", F.entra, response(503, #"{"error":"temporarily_unavailable","error_description":"busy"}"#),
                    .unexpectedResponse, "temporarily_unavailable", ["HTTP 503"]),
        FailureCase("500 with invalid_grant stays transient", F.gitlab, response(500, #"{"error":"invalid_grant"}"#), .unexpectedResponse, "invalid_grant"),
    ]

    @Test("failures map to stable codes", arguments: failures)
    func failureMapping(_ testCase: FailureCase) throws {
        let failure = try #require(failure { () throws(OAuthFailure) in try testCase.client.parseTokenResponse(testCase.response) })
        #expect(failure.code == testCase.code)
        #expect(failure.scmError == testCase.scmError)
        for fragment in testCase.messageContains {
            #expect(failure.message.contains(fragment))
        }
        #expect(failure.message.count <= 600)
        #expect(failure.description == "\(testCase.code.rawValue): \(failure.message)")
    }

    @Test("the App Secret hint appears only for the JsonWebToken description, the secret-ID hint only for AADSTS7000215")
    func hintsAreSpecific() throws {
        let plain = try #require(failure { () throws(OAuthFailure) in
            try F.legacy.parseTokenResponse(response(400, #"{"Error":"invalid_client","ErrorDescription":"Unknown client"}"#))
        })
        #expect(plain.code == .invalidClient)
        #expect(!plain.message.contains("App Secret"))
        #expect(!plain.message.contains("secret ID"))
        let legacy = try #require(failure { () throws(OAuthFailure) in
            try F.legacy.parseTokenResponse(response(400, #"{"Error":"invalid_client","ErrorDescription":"Failed to deserialize the JsonWebToken object."}"#))
        })
        #expect(legacy.message.contains("App Secret"))
        #expect(!legacy.message.contains("secret ID"))
    }

    @Test("error descriptions are cleaned: control characters removed, at most 300 characters")
    func descriptionCleaning() throws {
        let long = String(repeating: "word ", count: 200)
        let failure = try #require(failure { () throws(OAuthFailure) in
            try F.gitlab.parseTokenResponse(response(400, #"{"error":"invalid_grant","error_description":"line one\r\nline\u0000two\u001B[31m red \u202Eevil\t"# + long + #""}"#))
        })
        let quoted = try #require(failure.message.split(separator: "said: \"", maxSplits: 1).last)
        #expect(quoted.hasPrefix("line one linetwo[31m red evil word word"))
        #expect(!failure.message.unicodeScalars.contains { $0.properties.generalCategory == .control })
        #expect(!failure.message.unicodeScalars.contains { $0.value == 0x202E })
        // The quoted description (without the closing quote) is at most 300 characters.
        #expect(quoted.dropLast().count <= 300)
        #expect(quoted.dropLast().hasSuffix("…"))
        #expect(OAuthFailure.clean("  \n\t ") == nil)
        #expect(OAuthFailure.clean(String(repeating: "é", count: 400))?.count == 300)
    }

    @Test("callback errors map like token errors", arguments: [
        ("access_denied", OAuthFailure.Code.accessDenied),
        ("ACCESS_DENIED", .accessDenied),
        ("invalid_scope", .oauthAppBlocked),
        ("unauthorized_client", .oauthAppBlocked),
        ("application_suspended", .oauthAppBlocked),
        ("invalid_grant", .invalidGrant),
        ("redirect_uri_mismatch", .invalidGrant),
        ("invalid_client", .invalidClient),
        ("server_error", .scmError),
        ("temporarily_unavailable", .scmError),
        ("interaction_required", .scmError),
    ])
    func callback(error: String, code: OAuthFailure.Code) {
        let failure = OAuthFailure.fromAuthorizationCallback(error: error, description: "AADSTS65004: User declined to consent.")
        #expect(failure.code == code)
        #expect(failure.scmError == error)
        #expect(failure.message.contains("AADSTS65004: User declined to consent."))
    }

    @Test("callback parameters are hostile input: cleaned, never echoed raw")
    func hostileCallback() {
        let failure = OAuthFailure.fromAuthorizationCallback(error: "x\n<script>alert(1)</script>", description: nil)
        #expect(failure.code == .scmError)
        #expect(failure.scmError == "x <script>alert(1)</script>")
        #expect(!failure.message.contains("<script>"))
        let noDescription = OAuthFailure.fromAuthorizationCallback(error: "access_denied", description: "   ")
        #expect(!noDescription.message.contains("said"))
    }

    @Test("codes are stable strings and encode as bare JSON strings")
    func codes() throws {
        let codes: [OAuthFailure.Code] = [.accessDenied, .oauthAppBlocked, .invalidGrant, .invalidClient, .invalidToken,
                                          .scmError, .unexpectedResponse, .scmUnreachable]
        #expect(codes.map(\.rawValue) == ["access_denied", "oauth_app_blocked", "invalid_grant", "invalid_client", "invalid_token",
                                          "scm_error", "unexpected_response", "scm_unreachable"])
        let encoded = try JSONEncoder().encode(codes)
        #expect(String(decoding: encoded, as: UTF8.self) == #"["access_denied","oauth_app_blocked","invalid_grant","invalid_client","invalid_token","scm_error","unexpected_response","scm_unreachable"]"#)
        #expect(try JSONDecoder().decode([OAuthFailure.Code].self, from: encoded) == codes)
    }

    @Test("a grant round-trips through Codable and never prints its tokens")
    func grantCodableAndRedacted() throws {
        let grant = OAuthTokenGrant(accessToken: "ACCESS-planted", refreshToken: "REFRESH-planted", expiresIn: 60, scopes: ["repo"], tokenType: "bearer")
        let decoded = try JSONDecoder().decode(OAuthTokenGrant.self, from: JSONEncoder().encode(grant))
        #expect(decoded == grant)
        for text in ["\(grant)", String(reflecting: grant), dumped(grant)] {
            #expect(!text.contains("planted"))
            #expect(text.contains("[redacted]"))
        }
    }
}
