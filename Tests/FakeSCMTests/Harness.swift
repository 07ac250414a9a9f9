import AsyncHTTPClient
import FakeSCM
import Foundation
import NIOCore
import Testing

/// One HTTP answer, read in full.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    /// The body as form fields.
    var form: [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            let value = parts.count > 1 ? (String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
            fields[name] = value
        }
        return fields
    }

    /// The query of the `Location` header.
    var redirectQuery: [String: String] {
        guard let location = header("Location"), let components = URLComponents(string: location) else { return [:] }
        var fields: [String: String] = [:]
        for item in components.queryItems ?? [] { fields[item.name] = item.value ?? "" }
        return fields
    }

    /// `Location` without its query.
    var redirectTarget: String? {
        header("Location").map { String($0.split(separator: "?", maxSplits: 1)[0]) }
    }
}

enum TestError: Error {
    case noCode(Int, String)
    case noToken(Int, String)
}

/// Registered apps used across the tests.
enum Apps {
    static let tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    static let entra = FakeSCM.App(kind: .entra, clientID: "entra-app", clientSecret: "entra~secret+value/=",
                                   redirectURIs: ["http://127.0.0.1:8080/oauth/callback/ado-entra"],
                                   tenant: tenant, secretID: "3f6a1c0e-entra-secret-id")
    static let legacy = FakeSCM.App(kind: .legacy, clientID: "legacy-app", clientSecret: "legacy.client.secret",
                                    redirectURIs: ["http://127.0.0.1:8080/oauth/callback/ado-legacy"],
                                    appSecret: "legacy-app-secret")
    static let github = FakeSCM.App(kind: .github, clientID: "gh-app", clientSecret: "gh-secret",
                                    redirectURIs: ["http://127.0.0.1:8080/oauth/callback/github"])
    static let githubClassic = FakeSCM.App(kind: .github, clientID: "gh-classic", clientSecret: "gh-classic-secret",
                                           redirectURIs: ["http://127.0.0.1:8080/oauth/callback/github-classic"],
                                           expiringTokens: false)
    static let gitlab = FakeSCM.App(kind: .gitlab, clientID: "gl-app", clientSecret: "gl-secret",
                                    redirectURIs: ["http://127.0.0.1:8080/oauth/callback/gitlab"])
    static let bitbucket = FakeSCM.App(kind: .bitbucket, clientID: "bb-app", clientSecret: "bb-secret",
                                       redirectURIs: ["http://127.0.0.1:8080/oauth/callback/bitbucket"])

    static func `for`(_ kind: FakeSCM.Kind) -> FakeSCM.App {
        switch kind {
        case .entra: entra
        case .legacy: legacy
        case .github: github
        case .gitlab: gitlab
        case .bitbucket: bitbucket
        }
    }

    static let entraScope = "499b84ac-1321-427f-aa17-267ca6975798/vso.code_write offline_access"
}

/// A started fake with the test apps, and an HTTP client that does not follow redirects.
struct Harness: Sendable {
    let fake: FakeSCM
    let client: HTTPClient

    static func run(_ body: @Sendable (Harness) async throws -> Void) async throws {
        let fake = try await FakeSCM.start()
        // Enough connections for the concurrency test, and patience for a loaded 2-core CI machine.
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        configuration.timeout = .init(connect: .seconds(60), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        for app in [Apps.entra, Apps.legacy, Apps.github, Apps.githubClassic, Apps.gitlab, Apps.bitbucket] {
            fake.register(app)
        }
        let harness = Harness(fake: fake, client: client)
        do {
            try await body(harness)
        } catch {
            try? await client.shutdown()
            await fake.stop()
            throw error
        }
        try await client.shutdown()
        await fake.stop()
    }

    // MARK: HTTP

    func get(_ url: String, headers: [(String, String)] = []) async throws -> HTTPResult {
        try await send("GET", url, headers: headers, body: nil)
    }

    func head(_ url: String) async throws -> HTTPResult {
        try await send("HEAD", url, headers: [], body: nil)
    }

    func post(_ url: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> HTTPResult {
        try await post(url, body: Self.encode(form), headers: headers)
    }

    func post(_ url: String, body: String, contentType: String = "application/x-www-form-urlencoded",
              headers: [(String, String)] = []) async throws -> HTTPResult {
        try await send("POST", url, headers: [("Content-Type", contentType)] + headers, body: body)
    }

    func send(_ method: String, _ url: String, headers: [(String, String)], body: String?) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = .RAW(value: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                          body: String(buffer: bytes))
    }

    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
        }
        return fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func basic(_ user: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    // MARK: Endpoints

    func authorizeURL(_ kind: FakeSCM.Kind, tenant: String = "organizations") -> String {
        switch kind {
        case .entra: fake.authority(.entra) + "/\(tenant)/oauth2/v2.0/authorize"
        case .legacy: fake.authority(.legacy) + "/oauth2/authorize"
        case .github: fake.authority(.github) + "/login/oauth/authorize"
        case .gitlab: fake.authority(.gitlab) + "/oauth/authorize"
        case .bitbucket: fake.authority(.bitbucket) + "/site/oauth2/authorize"
        }
    }

    func tokenURL(_ kind: FakeSCM.Kind, tenant: String = "organizations") -> String {
        switch kind {
        case .entra: fake.authority(.entra) + "/\(tenant)/oauth2/v2.0/token"
        case .legacy: fake.authority(.legacy) + "/oauth2/token"
        case .github: fake.authority(.github) + "/login/oauth/access_token"
        case .gitlab: fake.authority(.gitlab) + "/oauth/token"
        case .bitbucket: fake.authority(.bitbucket) + "/site/oauth2/access_token"
        }
    }

    /// The standard authorize parameters for `app`.
    func authorizeParameters(_ app: FakeSCM.App, verifier: String?, state: String = "st-\(UUID().uuidString)",
                             redirectURI: String? = nil, scope: String? = nil) -> [(String, String)] {
        let redirect = redirectURI ?? app.redirectURIs[0]
        var fields: [(String, String)] = [("client_id", app.clientID)]
        switch app.kind {
        case .entra:
            fields += [("response_type", "code"), ("redirect_uri", redirect), ("scope", scope ?? Apps.entraScope), ("state", state), ("response_mode", "query")]
        case .legacy:
            fields += [("response_type", "Assertion"), ("state", state), ("scope", scope ?? "vso.code_write"), ("redirect_uri", redirect)]
        case .github:
            fields += [("redirect_uri", redirect), ("scope", scope ?? "repo"), ("state", state)]
        case .gitlab:
            fields += [("redirect_uri", redirect), ("response_type", "code"), ("state", state), ("scope", scope ?? "read_user write_repository")]
        case .bitbucket:
            fields += [("response_type", "code"), ("state", state), ("redirect_uri", redirect)]
        }
        if let verifier {
            fields += [("code_challenge", FakeSCM.pkceChallenge(verifier: verifier)), ("code_challenge_method", "S256")]
        }
        return fields
    }

    func authorize(_ kind: FakeSCM.Kind, _ parameters: [(String, String)], tenant: String = "organizations") async throws -> HTTPResult {
        try await get(authorizeURL(kind, tenant: tenant) + "?" + Self.encode(parameters))
    }

    /// Authorizes with the defaults and returns the code (the redirect is checked).
    func code(_ app: FakeSCM.App, verifier: String?, redirectURI: String? = nil, scope: String? = nil) async throws -> String {
        let state = "st-\(UUID().uuidString)"
        let answer = try await authorize(app.kind, authorizeParameters(app, verifier: verifier, state: state, redirectURI: redirectURI, scope: scope))
        guard answer.status == 302, answer.redirectQuery["state"] == state, let code = answer.redirectQuery["code"] else {
            throw TestError.noCode(answer.status, answer.header("Location") ?? answer.body)
        }
        return code
    }

    /// The authorization-code token request each provider expects.
    func redeem(_ app: FakeSCM.App, code: String, verifier: String?, redirectURI: String? = nil,
                secret: String? = nil, accept: Bool = true) async throws -> HTTPResult {
        let redirect = redirectURI ?? app.redirectURIs[0]
        let secret = secret ?? app.clientSecret
        switch app.kind {
        case .entra:
            return try await post(tokenURL(.entra), form: [
                ("grant_type", "authorization_code"), ("client_id", app.clientID), ("client_secret", secret),
                ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier ?? ""),
            ])
        case .legacy:
            return try await post(tokenURL(.legacy), form: [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", secret), ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", code), ("redirect_uri", redirect),
            ])
        case .github:
            return try await post(tokenURL(.github), form: [
                ("client_id", app.clientID), ("client_secret", secret), ("code", code),
                ("redirect_uri", redirect), ("code_verifier", verifier ?? ""),
            ], headers: accept ? [("Accept", "application/json")] : [])
        case .gitlab:
            return try await post(tokenURL(.gitlab), form: [
                ("grant_type", "authorization_code"), ("client_id", app.clientID), ("client_secret", secret),
                ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier ?? ""),
            ])
        case .bitbucket:
            return try await post(tokenURL(.bitbucket), form: [("grant_type", "authorization_code"), ("code", code)],
                                  headers: [Self.basic(app.clientID, secret)])
        }
    }

    /// The refresh request each provider expects.
    func refresh(_ app: FakeSCM.App, _ token: String) async throws -> HTTPResult {
        switch app.kind {
        case .entra:
            return try await post(tokenURL(.entra), form: [
                ("grant_type", "refresh_token"), ("client_id", app.clientID), ("client_secret", app.clientSecret),
                ("refresh_token", token), ("scope", Apps.entraScope),
            ])
        case .legacy:
            return try await post(tokenURL(.legacy), form: [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", app.clientSecret), ("grant_type", "refresh_token"),
                ("assertion", token), ("redirect_uri", app.redirectURIs[0]),
            ])
        case .github:
            return try await post(tokenURL(.github), form: [
                ("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", app.clientID), ("client_secret", app.clientSecret),
            ], headers: [("Accept", "application/json")])
        case .gitlab:
            return try await post(tokenURL(.gitlab), form: [
                ("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", app.clientID), ("client_secret", app.clientSecret),
            ])
        case .bitbucket:
            return try await post(tokenURL(.bitbucket), form: [("grant_type", "refresh_token"), ("refresh_token", token)],
                                  headers: [Self.basic(app.clientID, app.clientSecret)])
        }
    }

    /// Authorize and redeem with the defaults; returns the token response.
    func tokens(_ app: FakeSCM.App) async throws -> [String: Any] {
        let verifier = FakeSCM.makePKCEVerifier()
        let usesPKCE = app.kind == .entra || app.kind == .github || app.kind == .gitlab
        let code = try await code(app, verifier: usesPKCE ? verifier : nil)
        let answer = try await redeem(app, code: code, verifier: usesPKCE ? verifier : nil)
        guard answer.status == 200, answer.json["access_token"] is String else { throw TestError.noToken(answer.status, answer.body) }
        return answer.json
    }

    /// "Who am I" with a bearer token.
    func whoAmI(_ kind: FakeSCM.Kind, _ token: String, organization: String = "contoso") async throws -> HTTPResult {
        switch kind {
        case .entra, .legacy:
            try await get(fake.apiURL(kind, organization: organization) + "/_apis/connectionData",
                          headers: [("Authorization", "Bearer \(token)"), ("X-TFS-FedAuthRedirect", "Suppress")])
        case .github: try await get(fake.apiURL(.github) + "/user", headers: [("Authorization", "Bearer \(token)")])
        case .gitlab: try await get(fake.apiURL(.gitlab) + "/user", headers: [("Authorization", "Bearer \(token)")])
        case .bitbucket: try await get(fake.apiURL(.bitbucket) + "/user", headers: [("Authorization", "Bearer \(token)")])
        }
    }
}
