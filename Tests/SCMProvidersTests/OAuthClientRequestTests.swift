import Foundation
import Testing
@testable import SCMProviders

/// OAuthClient: authorize URLs and token endpoint requests, per provider and flavor.
@Suite("OAuth client requests")
struct OAuthClientRequestTests {
    typealias F = OAuthFixtures
    static let redirect = F.redirectURI

    struct AuthorizeCase: CustomTestStringConvertible, Sendable {
        let client: OAuthClient
        let endpoint: String
        let token: String
        let query: [String]
        let usesPKCE: Bool
        let scopes: [String]
        var testDescription: String { client.testDescription }
    }

    static let authorizeCases: [AuthorizeCase] = [
        AuthorizeCase(
            client: F.entra,
            endpoint: "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
            token: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
            query: ["client_id=\(F.entra.clientID)", "response_type=code", "redirect_uri=\(redirect)", "response_mode=query",
                    "scope=\(F.entraScope)", "state=st-1", "code_challenge=ch-1", "code_challenge_method=S256"],
            usesPKCE: true, scopes: ["499b84ac-1321-427f-aa17-267ca6975798/vso.code_write", "offline_access"]),
        AuthorizeCase(
            client: F.entraTenant,
            endpoint: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
            token: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            query: ["client_id=\(F.entra.clientID)", "response_type=code", "redirect_uri=\(redirect)", "response_mode=query",
                    "scope=\(F.entraScope)", "state=st-1", "code_challenge=ch-1", "code_challenge_method=S256"],
            usesPKCE: true, scopes: ["499b84ac-1321-427f-aa17-267ca6975798/vso.code_write", "offline_access"]),
        AuthorizeCase(
            client: F.legacy,
            endpoint: "https://app.vssps.visualstudio.com/oauth2/authorize",
            token: "https://app.vssps.visualstudio.com/oauth2/token",
            query: ["client_id=\(F.legacy.clientID)", "response_type=Assertion", "state=st-1", "scope=vso.code_write", "redirect_uri=\(redirect)"],
            usesPKCE: false, scopes: ["vso.code_write"]),
        AuthorizeCase(
            client: F.github,
            endpoint: "https://github.com/login/oauth/authorize",
            token: "https://github.com/login/oauth/access_token",
            query: ["client_id=Iv1.0123456789abcdef", "redirect_uri=\(redirect)", "scope=repo", "state=st-1",
                    "code_challenge=ch-1", "code_challenge_method=S256"],
            usesPKCE: true, scopes: ["repo"]),
        AuthorizeCase(
            client: F.ghes,
            endpoint: "https://ghe.example.com:8443/login/oauth/authorize",
            token: "https://ghe.example.com:8443/login/oauth/access_token",
            query: ["client_id=Iv1.ghes", "redirect_uri=\(redirect)", "scope=repo", "state=st-1",
                    "code_challenge=ch-1", "code_challenge_method=S256"],
            usesPKCE: true, scopes: ["repo"]),
        AuthorizeCase(
            client: F.gitlab,
            endpoint: "https://gitlab.example.com/gitlab/oauth/authorize",
            token: "https://gitlab.example.com/gitlab/oauth/token",
            query: ["client_id=gl-app-id", "redirect_uri=\(redirect)", "response_type=code", "state=st-1",
                    "scope=read_user write_repository", "code_challenge=ch-1", "code_challenge_method=S256"],
            usesPKCE: true, scopes: ["read_user", "write_repository"]),
        AuthorizeCase(
            client: F.bitbucket,
            endpoint: "https://bitbucket.org/site/oauth2/authorize",
            token: "https://bitbucket.org/site/oauth2/access_token",
            query: ["client_id=bbKey123", "response_type=code", "state=st-1"],
            usesPKCE: false, scopes: []),
    ]

    @Test("authorize URL: endpoint and exact parameters in order", arguments: authorizeCases)
    func authorizeURL(_ testCase: AuthorizeCase) {
        let url = testCase.client.authorizeURL(state: "st-1", codeChallenge: "ch-1")
        let parts = splitURL(url)
        #expect(parts.base == testCase.endpoint)
        #expect(parts.query == testCase.query)
        #expect(testCase.client.authorizeEndpoint == testCase.endpoint)
        #expect(testCase.client.tokenEndpoint == testCase.token)
        #expect(testCase.client.usesPKCE == testCase.usesPKCE)
        #expect(testCase.client.scopes == testCase.scopes)
        #expect(URL(string: url) != nil)
        #expect(isStrictlyEncoded(String(url[url.index(after: url.firstIndex(of: "?")!)...])))
    }

    @Test("authorize URL without a challenge has no PKCE parameters", arguments: authorizeCases)
    func authorizeURLWithoutChallenge(_ testCase: AuthorizeCase) {
        let query = splitURL(testCase.client.authorizeURL(state: "st-1", codeChallenge: nil)).query
        #expect(query == testCase.query.filter { !$0.hasPrefix("code_challenge") })
    }

    @Test("an empty tenant means organizations; flavor is ignored outside Azure DevOps")
    func tenantAndFlavorDefaults() {
        let emptyTenant = OAuthClient(provider: .azureDevOps, flavor: .entra, tenant: "", authority: "https://login.microsoftonline.com",
                                      clientID: "c", redirectURI: "https://b/cb")
        #expect(emptyTenant.tokenEndpoint == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
        let github = OAuthClient(provider: .github, flavor: .legacy, authority: "https://github.com", clientID: "c", redirectURI: "https://b/cb")
        #expect(github.authorizeEndpoint == "https://github.com/login/oauth/authorize")
        #expect(github.usesPKCE)
        // A trailing slash on the authority never doubles up.
        #expect(F.entraTenant.authority == "https://login.microsoftonline.com")
        var later = F.gitlab
        later.authority = "https://gitlab.example.com/"
        #expect(later.tokenEndpoint == "https://gitlab.example.com/oauth/token")
    }

    struct TokenRequestCase: CustomTestStringConvertible, Sendable {
        let client: OAuthClient
        let exchange: [String]
        let refresh: [String]
        let authorization: String?
        var testDescription: String { client.testDescription }
    }

    static let tokenCases: [TokenRequestCase] = [
        TokenRequestCase(
            client: F.entra,
            exchange: ["client_id=\(F.entra.clientID)", "scope=\(F.entraScope)", "code=the-code", "redirect_uri=\(redirect)",
                       "grant_type=authorization_code", "code_verifier=the-verifier", "client_secret=the-secret"],
            refresh: ["client_id=\(F.entra.clientID)", "scope=\(F.entraScope)", "refresh_token=the-refresh",
                      "grant_type=refresh_token", "client_secret=the-secret"],
            authorization: nil),
        TokenRequestCase(
            client: F.legacy,
            exchange: ["client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion=the-secret",
                       "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion=the-code", "redirect_uri=\(redirect)"],
            refresh: ["client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion=the-secret",
                      "grant_type=refresh_token", "assertion=the-refresh", "redirect_uri=\(redirect)"],
            authorization: nil),
        TokenRequestCase(
            client: F.github,
            exchange: ["client_id=Iv1.0123456789abcdef", "client_secret=the-secret", "code=the-code", "redirect_uri=\(redirect)",
                       "code_verifier=the-verifier"],
            refresh: ["client_id=Iv1.0123456789abcdef", "client_secret=the-secret", "grant_type=refresh_token", "refresh_token=the-refresh"],
            authorization: nil),
        TokenRequestCase(
            client: F.ghes,
            exchange: ["client_id=Iv1.ghes", "client_secret=the-secret", "code=the-code", "redirect_uri=\(redirect)", "code_verifier=the-verifier"],
            refresh: ["client_id=Iv1.ghes", "client_secret=the-secret", "grant_type=refresh_token", "refresh_token=the-refresh"],
            authorization: nil),
        TokenRequestCase(
            client: F.gitlab,
            exchange: ["client_id=gl-app-id", "client_secret=the-secret", "code=the-code", "grant_type=authorization_code",
                       "redirect_uri=\(redirect)", "code_verifier=the-verifier"],
            refresh: ["client_id=gl-app-id", "client_secret=the-secret", "refresh_token=the-refresh", "grant_type=refresh_token",
                      "redirect_uri=\(redirect)"],
            authorization: nil),
        TokenRequestCase(
            client: F.bitbucket,
            exchange: ["grant_type=authorization_code", "code=the-code"],
            refresh: ["grant_type=refresh_token", "refresh_token=the-refresh"],
            // base64("bbKey123:the-secret")
            authorization: "Basic YmJLZXkxMjM6dGhlLXNlY3JldA=="),
    ]

    @Test("code exchange: POST to the token endpoint with exact headers and form fields", arguments: tokenCases)
    func codeExchange(_ testCase: TokenRequestCase) {
        let request = testCase.client.codeExchangeRequest(code: "the-code", codeVerifier: "the-verifier", clientSecret: "the-secret")
        #expect(request.method == "POST")
        #expect(request.url == testCase.client.tokenEndpoint)
        #expect(request.headers == Self.tokenHeaders(authorization: testCase.authorization))
        #expect(formFields(request) == testCase.exchange)
        #expect(isStrictlyEncoded(String(decoding: request.body ?? [], as: UTF8.self)))
    }

    @Test("refresh: POST to the token endpoint with exact headers and form fields", arguments: tokenCases)
    func refresh(_ testCase: TokenRequestCase) {
        let request = testCase.client.refreshRequest(refreshToken: "the-refresh", clientSecret: "the-secret")
        #expect(request.method == "POST")
        #expect(request.url == testCase.client.tokenEndpoint)
        #expect(request.headers == Self.tokenHeaders(authorization: testCase.authorization))
        #expect(formFields(request) == testCase.refresh)
    }

    @Test("code exchange without a verifier omits code_verifier; non-PKCE clients never send one", arguments: F.all)
    func exchangeWithoutVerifier(_ client: OAuthClient) {
        let without = formFields(client.codeExchangeRequest(code: "c0de", codeVerifier: nil, clientSecret: "s3cret"))
        #expect(!without.contains { $0.hasPrefix("code_verifier=") })
        let with = formFields(client.codeExchangeRequest(code: "c0de", codeVerifier: "v3rifier", clientSecret: "s3cret"))
        #expect(with.contains("code_verifier=v3rifier") == client.usesPKCE)
    }

    static func tokenHeaders(authorization: String?) -> [SCMHTTPHeader] {
        (authorization.map { [SCMHTTPHeader(name: "Authorization", value: $0)] } ?? []) + [
            SCMHTTPHeader(name: "Content-Type", value: "application/x-www-form-urlencoded"),
            SCMHTTPHeader(name: "Accept", value: "application/json"),
            SCMHTTPHeader(name: "User-Agent", value: "scm-broker-runner"),
        ]
    }

    @Test("Bitbucket's Basic header carries the raw client id and secret, base64-encoded")
    func bitbucketBasic() throws {
        let secret = "p:ss+w/rd=ü"
        let request = F.bitbucket.codeExchangeRequest(code: "x", codeVerifier: nil, clientSecret: secret)
        let header = try #require(request.header("authorization"))
        #expect(header.hasPrefix("Basic "))
        let decoded = try #require(Data(base64Encoded: String(header.dropFirst(6))))
        #expect(String(decoding: decoded, as: UTF8.self) == "bbKey123:\(secret)")
        #expect(!formFields(request).contains { $0.contains(secret) || $0.hasPrefix("client_") })
    }

    @Test("revoke: GitLab only, POST /oauth/revoke with client credentials and the token")
    func revoke() throws {
        let request = try #require(F.gitlab.revokeRequest(token: "tok-1", clientSecret: "the-secret"))
        #expect(request.method == "POST")
        #expect(request.url == "https://gitlab.example.com/gitlab/oauth/revoke")
        #expect(request.headers == Self.tokenHeaders(authorization: nil))
        #expect(formFields(request) == ["client_id=gl-app-id", "client_secret=the-secret", "token=tok-1"])
        for client in [F.entra, F.legacy, F.github, F.ghes, F.bitbucket] {
            #expect(client.revokeRequest(token: "tok-1", clientSecret: "s") == nil)
        }
    }

    @Test("form encoding keeps only unreserved characters", arguments: [
        ("abcXYZ019-._~", "abcXYZ019-._~"),
        ("a+b", "a%2Bb"), ("a/b", "a%2Fb"), ("a=b", "a%3Db"), ("a&b", "a%26b"), ("a b", "a%20b"),
        ("a%b", "a%25b"), ("a?b#c", "a%3Fb%23c"), ("a:b@c", "a%3Ab%40c"), ("a;b,c", "a%3Bb%2Cc"),
        ("a!b*c'd(e)", "a%21b%2Ac%27d%28e%29"), ("ü", "%C3%BC"), ("€", "%E2%82%AC"), ("\n", "%0A"), ("", ""),
    ])
    func formEncoding(input: String, encoded: String) {
        #expect(FormEncoding.percentEncode(input) == encoded)
    }

    @Test("reserved characters in secrets, codes and tokens survive the round trip in every request", arguments: F.all)
    func reservedCharactersRoundTrip(_ client: OAuthClient) {
        let nasty = "a+b/c=d&e f%g?h#i:j@k~l.m_n-oü"
        let encodedNasty = "a%2Bb%2Fc%3Dd%26e%20f%25g%3Fh%23i%3Aj%40k~l.m_n-o%C3%BC"
        for request in [
            client.codeExchangeRequest(code: nasty, codeVerifier: nasty, clientSecret: nasty),
            client.refreshRequest(refreshToken: nasty, clientSecret: nasty),
        ] {
            let body = String(decoding: request.body ?? [], as: UTF8.self)
            #expect(isStrictlyEncoded(body))
            #expect(body.contains(encodedNasty))
            #expect(formFields(body).contains { $0.hasSuffix("=" + nasty) })
        }
        let url = client.authorizeURL(state: nasty, codeChallenge: nasty)
        #expect(url.contains("state=" + encodedNasty))
        #expect(splitURL(url).query.contains("state=" + nasty))
    }

    @Test("a request's description names headers but never shows their values or the body")
    func requestDescriptionHidesSecrets() {
        let request = F.bitbucket.codeExchangeRequest(code: "code-XYZ", codeVerifier: nil, clientSecret: "secret-XYZ")
        for text in [String(describing: request), String(reflecting: request), "\(request)", dumped(request)] {
            #expect(!text.contains("code-XYZ"))
            #expect(!text.contains("secret-XYZ"))
            #expect(!text.contains("YmJLZXkxMjM6"))
            #expect(text.contains("Authorization"))
        }
    }

    @Test("response headers are looked up case-insensitively")
    func responseHeaderLookup() {
        let response = SCMHTTPResponse(status: 200, headers: [SCMHTTPHeader(name: "X-RateLimit-Remaining", value: "0"),
                                                              SCMHTTPHeader(name: "x-ratelimit-remaining", value: "9")], body: [])
        #expect(response.header("x-ratelimit-remaining") == "0")
        #expect(response.header("X-RATELIMIT-REMAINING") == "0")
        #expect(response.header("Retry-After") == nil)
    }
}

func dumped(_ value: some Any) -> String {
    var text = ""
    dump(value, to: &text)
    return text
}
