import Foundation

let legacyAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
let legacyJWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

enum ClientProblem: Sendable {
    case unknown(String)
    case wrongSecret(String)
    /// Entra: the secret's ID was sent instead of its value.
    case secretID(String)
    /// Legacy: the "App Secret" was sent instead of the "Client Secret".
    case appSecret
    /// No client authentication at all (Bitbucket without Basic auth, Entra without a secret).
    case missing
    /// Bitbucket: credentials in the body.
    case bodyCredentials
}

enum GrantProblem: Sendable {
    case unknownCode, expiredCode, reusedCode, codeOtherClient, redirectMismatch, pkceMismatch
    case unknownRefresh, revokedRefresh, expiredRefresh, refreshOtherClient, scopeNotGranted

    var isRefresh: Bool {
        switch self {
        case .unknownRefresh, .revokedRefresh, .expiredRefresh, .refreshOtherClient: true
        default: false
        }
    }
}

enum TokenFailure: Error, Sendable {
    case invalidRequest(String)
    case missing(String)
    case unexpected(String)
    case unsupportedGrantType(String)
    case invalidClient(ClientProblem)
    case unauthorizedClient(String)
    case invalidGrant(GrantProblem)
    case invalidScope(String)
}

struct Issued: Sendable {
    var app: FakeSCM.App
    var accessToken: String
    var refreshToken: String?
    var lifetime: Int?
    var refreshLifetime: Int?
    var scope: String
    var grant: Grant
}

enum Grant: Sendable {
    case authorizationCode, refreshToken
}

extension State {
    mutating func token(_ kind: FakeSCM.Kind, tenant: String?, _ request: FakeRequest) -> FakeResponse {
        if !pendingTokenFailures.isEmpty {
            let status = pendingTokenFailures.removeFirst()
            stats.count(kind, \.tokenFailures)
            return .text(status, "Service temporarily unavailable (injected by fake-scm).", headers: [("Retry-After", "1")])
        }
        do {
            let issued = try tokenGrant(kind, tenant: tenant, request)
            stats.count(kind, issued.grant == .authorizationCode ? \.codeRedemptions : \.refreshes)
            return tokenSuccess(kind, issued, acceptsJSON: request.acceptsJSON)
        } catch {
            stats.count(kind, \.tokenFailures)
            return tokenError(kind, error, tenant: tenant, acceptsJSON: request.acceptsJSON)
        }
    }

    private mutating func tokenGrant(_ kind: FakeSCM.Kind, tenant: String?, _ request: FakeRequest) throws(TokenFailure) -> Issued {
        guard request.hasFormContentType else {
            throw .invalidRequest("The request body must be application/x-www-form-urlencoded.")
        }
        guard let text = String(validating: request.body, as: UTF8.self) else {
            throw .invalidRequest("The request body is not UTF-8.")
        }
        let form: [String: String]
        switch Form.parse(text) {
        case .success(let fields): form = fields
        case .failure(.repeated(let name)): throw .invalidRequest("The parameter '\(name)' is repeated.")
        case .failure: throw .invalidRequest("The request body is not valid form encoding.")
        }
        switch kind {
        case .entra: return try entraToken(form, tenant: tenant ?? "")
        case .legacy: return try legacyToken(form)
        case .github: return try githubToken(form)
        case .gitlab: return try gitlabToken(form)
        case .bitbucket: return try bitbucketToken(form, request)
        }
    }

    // MARK: Per provider

    private mutating func entraToken(_ form: [String: String], tenant: String) throws(TokenFailure) -> Issued {
        let grant = try grantType(form, code: "authorization_code")
        switch grant {
        case .authorizationCode:
            try check(form, required: ["grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier"], optional: ["scope"])
        case .refreshToken:
            try check(form, required: ["grant_type", "client_id", "client_secret", "refresh_token"], optional: ["scope"])
        }
        let app = try authenticateClient(.entra, form, tenant: tenant)
        switch grant {
        case .authorizationCode:
            let code = try redeem(app, code: form["code"]!, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
            if let requested = form["scope"] { try checkEntraScope(requested, granted: code.scope) }
            return issue(app, user: code.user, scope: code.scope, family: code.family, redirectURI: code.redirectURI, grant: grant)
        case .refreshToken:
            let old = try refreshRecord(app, form["refresh_token"]!)
            if let requested = form["scope"] { try checkEntraScope(requested, granted: old.scope) }
            // Entra rotates, but the old refresh token is not revoked at once.
            return issue(app, user: old.user, scope: old.scope, family: old.family, redirectURI: old.redirectURI, grant: grant)
        }
    }

    private func checkEntraScope(_ requested: String, granted: String) throws(TokenFailure) {
        let scopes = requested.split(separator: " ").map(String.init)
        if let problem = Self.entraScopeProblem(scopes) { throw .invalidScope(problem) }
        let grantedSet = Set(granted.split(separator: " ").map(String.init))
        guard scopes.filter({ !oidcScopes.contains($0) }).allSatisfy(grantedSet.contains) else {
            throw .invalidGrant(.scopeNotGranted)
        }
    }

    private mutating func legacyToken(_ form: [String: String]) throws(TokenFailure) -> Issued {
        let names = ["client_assertion_type", "client_assertion", "grant_type", "assertion", "redirect_uri"]
        let grant: Grant
        switch form["grant_type"] ?? "" {
        case "": throw .missing("grant_type")
        case legacyJWTBearerGrant: grant = .authorizationCode
        case "refresh_token": grant = .refreshToken
        case let other: throw .unsupportedGrantType(other)
        }
        try check(form, required: names, optional: [])
        guard form["client_assertion_type"] == legacyAssertionType else {
            throw .invalidRequest("Invalid client_assertion_type; expected \(legacyAssertionType).")
        }
        let secret = form["client_assertion"]!
        let legacyApps = apps.values.filter { $0.kind == .legacy }
        guard let app = legacyApps.first(where: { $0.clientSecret == secret }) else {
            throw .invalidClient(legacyApps.contains { $0.appSecret == secret } ? .appSecret : .wrongSecret(""))
        }
        switch grant {
        case .authorizationCode:
            let code = try redeem(app, code: form["assertion"]!, redirectURI: form["redirect_uri"], verifier: nil)
            return issue(app, user: code.user, scope: code.scope, family: code.family, redirectURI: code.redirectURI, grant: grant)
        case .refreshToken:
            let token = form["assertion"]!
            let old = try refreshRecord(app, token)
            guard form["redirect_uri"] == old.redirectURI else { throw .invalidGrant(.redirectMismatch) }
            refreshTokens[token]?.revoked = true
            return issue(app, user: old.user, scope: old.scope, family: old.family, redirectURI: old.redirectURI, grant: grant)
        }
    }

    private mutating func githubToken(_ form: [String: String]) throws(TokenFailure) -> Issued {
        let grant = try grantType(form, code: "authorization_code", optional: true)
        switch grant {
        case .authorizationCode:
            try check(form, required: ["client_id", "client_secret", "code", "redirect_uri", "code_verifier"], optional: ["grant_type"])
        case .refreshToken:
            try check(form, required: ["grant_type", "refresh_token", "client_id", "client_secret"], optional: [])
        }
        let app = try authenticateClient(.github, form, tenant: nil)
        switch grant {
        case .authorizationCode:
            let code = try redeem(app, code: form["code"]!, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
            return issue(app, user: code.user, scope: code.scope, family: code.family, redirectURI: code.redirectURI, grant: grant)
        case .refreshToken:
            guard app.expiringTokens else { throw .invalidGrant(.unknownRefresh) }
            let token = form["refresh_token"]!
            let old = try refreshRecord(app, token)
            refreshTokens[token]?.revoked = true
            return issue(app, user: old.user, scope: old.scope, family: old.family, redirectURI: old.redirectURI, grant: grant)
        }
    }

    private mutating func gitlabToken(_ form: [String: String]) throws(TokenFailure) -> Issued {
        let grant = try grantType(form, code: "authorization_code")
        switch grant {
        case .authorizationCode:
            try check(form, required: ["grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier"], optional: [])
        case .refreshToken:
            try check(form, required: ["grant_type", "refresh_token", "client_id", "client_secret"], optional: ["redirect_uri"])
        }
        let app = try authenticateClient(.gitlab, form, tenant: nil)
        switch grant {
        case .authorizationCode:
            let code = try redeem(app, code: form["code"]!, redirectURI: form["redirect_uri"], verifier: form["code_verifier"])
            return issue(app, user: code.user, scope: code.scope, family: code.family, redirectURI: code.redirectURI, grant: grant)
        case .refreshToken:
            let token = form["refresh_token"]!
            let old = try refreshRecord(app, token)
            if let redirect = form["redirect_uri"], redirect != old.redirectURI { throw .invalidGrant(.redirectMismatch) }
            // Strict rotation: the old refresh token and its access token die now.
            refreshTokens[token]?.revoked = true
            accessTokens[old.accessToken]?.revoked = true
            return issue(app, user: old.user, scope: old.scope, family: old.family, redirectURI: old.redirectURI, grant: grant)
        }
    }

    private mutating func bitbucketToken(_ form: [String: String], _ request: FakeRequest) throws(TokenFailure) -> Issued {
        if form["client_id"] != nil || form["client_secret"] != nil { throw .invalidClient(.bodyCredentials) }
        let grant = try grantType(form, code: "authorization_code")
        switch grant {
        case .authorizationCode: try check(form, required: ["grant_type", "code"], optional: ["redirect_uri"])
        case .refreshToken: try check(form, required: ["grant_type", "refresh_token"], optional: [])
        }
        guard let (scheme, credentials) = request.authorization, scheme == "basic",
              let decoded = Data(base64Encoded: credentials).flatMap({ String(data: $0, encoding: .utf8) }),
              let colon = decoded.firstIndex(of: ":")
        else { throw .invalidClient(.missing) }
        let clientID = String(decoded[..<colon])
        guard let app = app(.bitbucket, clientID) else { throw .invalidClient(.unknown(clientID)) }
        guard String(decoded[decoded.index(after: colon)...]) == app.clientSecret else { throw .invalidClient(.wrongSecret(clientID)) }
        switch grant {
        case .authorizationCode:
            let code = try redeem(app, code: form["code"]!, redirectURI: form["redirect_uri"], verifier: nil)
            return issue(app, user: code.user, scope: code.scope, family: code.family, redirectURI: code.redirectURI, grant: grant)
        case .refreshToken:
            let token = form["refresh_token"]!
            let old = try refreshRecord(app, token)
            // Bitbucket's refresh tokens do not rotate: the same one comes back.
            return issue(app, user: old.user, scope: old.scope, family: old.family, redirectURI: old.redirectURI, grant: grant, keepRefreshToken: token)
        }
    }

    // MARK: Shared checks

    private func grantType(_ form: [String: String], code: String, optional: Bool = false) throws(TokenFailure) -> Grant {
        switch form["grant_type"] {
        case nil where optional: return .authorizationCode
        case nil, "": throw .missing("grant_type")
        case code: return .authorizationCode
        case "refresh_token": return .refreshToken
        case let other?: throw .unsupportedGrantType(other)
        }
    }

    /// Exactly these fields: every required one non-empty, nothing else.
    private func check(_ form: [String: String], required: [String], optional: [String]) throws(TokenFailure) {
        for name in form.keys.sorted() where !required.contains(name) && !optional.contains(name) {
            throw .unexpected(name)
        }
        for name in required where (form[name] ?? "").isEmpty {
            throw .missing(name)
        }
        for name in optional where form[name] == "" {
            throw .missing(name)
        }
    }

    private func authenticateClient(_ kind: FakeSCM.Kind, _ form: [String: String], tenant: String?) throws(TokenFailure) -> FakeSCM.App {
        let clientID = form["client_id"]!
        guard let app = app(kind, clientID) else { throw .invalidClient(.unknown(clientID)) }
        if kind == .entra, let tenant, let problem = tenantProblem(tenant, app: app) {
            throw .unauthorizedClient(problem)
        }
        let secret = form["client_secret"]!
        guard secret == app.clientSecret else {
            throw .invalidClient(kind == .entra && secret == app.secretID ? .secretID(clientID) : .wrongSecret(clientID))
        }
        return app
    }

    /// Redeems a code once. A second redemption fails and revokes what the first issued.
    private mutating func redeem(_ app: FakeSCM.App, code: String, redirectURI: String?, verifier: String?) throws(TokenFailure) -> CodeRecord {
        guard let record = codes[code], record.kind == app.kind else { throw .invalidGrant(.unknownCode) }
        if record.redeemed {
            revokeFamily(record.family)
            throw .invalidGrant(.reusedCode)
        }
        guard now < record.expiresAt else { throw .invalidGrant(.expiredCode) }
        guard record.clientID == app.clientID else { throw .invalidGrant(.codeOtherClient) }
        if app.kind == .bitbucket {
            if let redirectURI, redirectURI != record.redirectURI { throw .invalidGrant(.redirectMismatch) }
        } else {
            guard redirectURI == record.redirectURI else { throw .invalidGrant(.redirectMismatch) }
        }
        if let challenge = record.challenge {
            guard let verifier, PKCE.isValidVerifier(verifier), PKCE.challenge(for: verifier) == challenge else {
                throw .invalidGrant(.pkceMismatch)
            }
        }
        codes[code]?.redeemed = true
        return record
    }

    private func refreshRecord(_ app: FakeSCM.App, _ token: String) throws(TokenFailure) -> RefreshRecord {
        guard let record = refreshTokens[token], record.kind == app.kind else { throw .invalidGrant(.unknownRefresh) }
        guard !record.revoked else { throw .invalidGrant(.revokedRefresh) }
        if let expiresAt = record.expiresAt, now >= expiresAt { throw .invalidGrant(.expiredRefresh) }
        guard record.clientID == app.clientID else { throw .invalidGrant(.refreshOtherClient) }
        return record
    }

    // MARK: Issuing

    private mutating func issue(
        _ app: FakeSCM.App, user: FakeSCM.User, scope: String, family: String, redirectURI: String?, grant: Grant,
        keepRefreshToken: String? = nil
    ) -> Issued {
        let lifetime = accessLifetime(for: app)
        let access = makeAccessToken(app, user: user, scope: scope, lifetime: lifetime)
        accessTokens[access] = AccessRecord(
            kind: app.kind, clientID: app.clientID, user: user, scope: scope, issuedAt: now,
            expiresAt: lifetime.map { now.addingTimeInterval(TimeInterval($0)) }, family: family
        )
        let refreshLifetime: Int? = switch app.kind {
        case .entra: 90 * 86400
        case .github: 15_897_600
        case .legacy, .gitlab, .bitbucket: nil
        }
        let wantsRefresh = switch app.kind {
        case .entra: scope.split(separator: " ").contains("offline_access")
        case .github: app.expiringTokens
        case .legacy, .gitlab, .bitbucket: true
        }
        var refresh: String?
        if let keepRefreshToken {
            refresh = keepRefreshToken
            refreshTokens[keepRefreshToken]?.accessToken = access
        } else if wantsRefresh {
            let token = makeRefreshToken(app, user: user)
            refreshTokens[token] = RefreshRecord(
                kind: app.kind, clientID: app.clientID, user: user, scope: scope,
                expiresAt: refreshLifetime.map { now.addingTimeInterval(TimeInterval($0)) },
                family: family, accessToken: access, redirectURI: redirectURI
            )
            refresh = token
        }
        return Issued(app: app, accessToken: access, refreshToken: refresh, lifetime: lifetime,
                      refreshLifetime: refresh == nil ? nil : refreshLifetime, scope: scope, grant: grant)
    }

    private func makeAccessToken(_ app: FakeSCM.App, user: FakeSCM.User, scope: String, lifetime: Int?) -> String {
        let issuedAt = Int(now.timeIntervalSince1970)
        let expiry = issuedAt + (lifetime ?? 3600)
        switch app.kind {
        case .entra:
            let tenant = app.tenant ?? derivedGUID("tenant:" + app.clientID)
            let scp = scope.split(separator: " ").filter { !oidcScopes.contains(String($0)) }
                .map { $0.hasPrefix(azureDevOpsResource + "/") ? String($0.dropFirst(azureDevOpsResource.count + 1)) : String($0) }
            return fakeJWT([
                ("aud", .string(azureDevOpsResource)), ("iss", .string("https://sts.windows.net/\(tenant)/")),
                ("iat", .int(issuedAt)), ("nbf", .int(issuedAt)), ("exp", .int(expiry)),
                ("appid", .string(app.clientID)), ("name", .string(user.displayName)), ("oid", .string(user.azureDevOpsID)),
                ("scp", .string(scp.joined(separator: " "))), ("tid", .string(tenant)), ("upn", .string(user.email)),
            ], bytes: 256)
        case .legacy:
            return fakeJWT([
                ("nameid", .string(user.azureDevOpsID)), ("scp", .string(scope)), ("aui", .string(Random.guid())),
                ("appid", .string(app.clientID)), ("iss", .string("app.vstoken.visualstudio.com")),
                ("aud", .string("app.vstoken.visualstudio.com|vso:\(user.azureDevOpsID)")),
                ("nbf", .int(issuedAt)), ("exp", .int(expiry)),
            ], bytes: 256)
        case .github:
            return (app.expiringTokens ? "ghu_" : "gho_") + Random.alphanumeric(36)
        case .gitlab:
            return Random.hex(bytes: 32)
        case .bitbucket:
            // Standard base64 with + / =: clients must form-encode and header-quote correctly.
            return Self.plusSlashBase64(bytes: 94)
        }
    }

    private func makeRefreshToken(_ app: FakeSCM.App, user: FakeSCM.User) -> String {
        switch app.kind {
        case .entra: "1.AXEA" + Random.base64URL(bytes: 540)
        case .legacy: fakeJWT([("nameid", .string(user.azureDevOpsID)), ("typ", .string("refresh"))], bytes: 256)
        case .github: "ghr_" + Random.alphanumeric(76)
        case .gitlab: Random.hex(bytes: 32)
        case .bitbucket: Self.plusSlashBase64(bytes: 26)
        }
    }

    /// Base64 that always contains `+`, `/` and `=`.
    static func plusSlashBase64(bytes count: Int) -> String {
        var text = Data(Random.bytes(count)).base64EncodedString()
        if !text.contains("+") { text.replaceSubrange(text.startIndex...text.startIndex, with: "+") }
        if !text.contains("/") {
            let second = text.index(after: text.startIndex)
            text.replaceSubrange(second...second, with: "/")
        }
        return text.hasSuffix("=") ? text : text + "="
    }

    // MARK: Responses

    private func tokenSuccess(_ kind: FakeSCM.Kind, _ issued: Issued, acceptsJSON: Bool) -> FakeResponse {
        let noStore = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        var fields: [(String, JSON)]
        switch kind {
        case .entra:
            let resourceScopes = issued.scope.split(separator: " ").filter { !oidcScopes.contains(String($0)) }
            fields = [
                ("token_type", .string("Bearer")), ("scope", .string(resourceScopes.joined(separator: " "))),
                ("expires_in", .int(issued.lifetime ?? 3599)), ("ext_expires_in", .int(issued.lifetime ?? 3599)),
                ("access_token", .string(issued.accessToken)),
            ]
            if let refresh = issued.refreshToken { fields.append(("refresh_token", .string(refresh))) }
        case .legacy:
            fields = [
                ("access_token", .string(issued.accessToken)), ("token_type", .string("jwt-bearer")),
                ("expires_in", .string(String(issued.lifetime ?? 3599))),
                ("refresh_token", .string(issued.refreshToken ?? "")), ("scope", .string(issued.scope)),
            ]
        case .github:
            fields = [("access_token", .string(issued.accessToken))]
            if let lifetime = issued.lifetime { fields.append(("expires_in", .int(lifetime))) }
            if let refresh = issued.refreshToken {
                fields.append(("refresh_token", .string(refresh)))
                fields.append(("refresh_token_expires_in", .int(issued.refreshLifetime ?? 15_897_600)))
            }
            fields += [("token_type", .string("bearer")), ("scope", .string(issued.scope))]
            return githubBody(fields, acceptsJSON: acceptsJSON, headers: noStore)
        case .gitlab:
            fields = [
                ("access_token", .string(issued.accessToken)), ("token_type", .string("Bearer")),
                ("expires_in", .int(issued.lifetime ?? 7200)), ("refresh_token", .string(issued.refreshToken ?? "")),
                ("scope", .string(issued.scope)), ("created_at", .int(Int(now.timeIntervalSince1970))),
            ]
        case .bitbucket:
            fields = [
                ("access_token", .string(issued.accessToken)), ("scopes", .string(issued.scope)),
                ("expires_in", .int(issued.lifetime ?? 7200)), ("refresh_token", .string(issued.refreshToken ?? "")),
                ("token_type", .string("bearer")),
                ("state", .string(issued.grant == .authorizationCode ? "authorization_code" : "refresh_token")),
            ]
        }
        return .json(200, .object(fields), headers: noStore)
    }

    /// GitHub answers form encoding unless the client asked for JSON.
    private func githubBody(_ fields: [(String, JSON)], acceptsJSON: Bool, headers: [(String, String)] = []) -> FakeResponse {
        if acceptsJSON { return .json(200, .object(fields), headers: headers) }
        let pairs = fields.map { name, value -> (String, String) in
            switch value {
            case .string(let text): (name, text)
            case .int(let number): (name, String(number))
            default: (name, value.text)
            }
        }
        return FakeResponse(status: 200, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")] + headers,
                            body: Form.encode(pairs))
    }

    private func tokenError(_ kind: FakeSCM.Kind, _ failure: TokenFailure, tenant: String?, acceptsJSON: Bool) -> FakeResponse {
        switch kind {
        case .entra: entraError(failure, tenant: tenant ?? "")
        case .legacy: legacyError(failure)
        case .github: githubError(failure, acceptsJSON: acceptsJSON)
        case .gitlab: gitlabError(failure)
        case .bitbucket: bitbucketError(failure)
        }
    }

    private func entraError(_ failure: TokenFailure, tenant: String) -> FakeResponse {
        let (status, error, code, text): (Int, String, Int, String) = switch failure {
        case .invalidRequest(let detail): (400, "invalid_request", 9_002_313, "Invalid request. Request is malformed or invalid. \(detail)")
        case .missing("client_secret"):
            (401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        case .missing(let name): (400, "invalid_request", 900_144, "The request body must contain the following parameter: '\(name)'.")
        case .unexpected(let name): (400, "invalid_request", 9_002_313, "Invalid request. Request is malformed or invalid. The parameter '\(name)' is not accepted here (fake-scm is strict).")
        case .unsupportedGrantType(let grant): (400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '\(grant)'.")
        case .invalidClient(.unknown(let id)):
            (401, "invalid_client", 700_016, "Application with identifier '\(id)' was not found in the directory '\(tenant)'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
        case .invalidClient(.wrongSecret(let id)), .invalidClient(.secretID(let id)):
            (401, "invalid_client", 7_000_215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(id)'.")
        case .invalidClient:
            (401, "invalid_client", 7_000_218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        case .unauthorizedClient(let message): Self.splitAADSTS(message, status: 400, error: "unauthorized_client")
        case .invalidScope(let message): Self.splitAADSTS(message, status: 400, error: "invalid_scope")
        case .invalidGrant(let problem):
            switch problem {
            case .reusedCode: (400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
            case .unknownCode, .expiredCode, .expiredRefresh:
                (400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
            case .pkceMismatch: (400, "invalid_grant", 501_481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
            case .redirectMismatch: (400, "invalid_grant", 500_112, "The reply address does not match the reply address provided when requesting Authorization code.")
            case .revokedRefresh: (400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
            case .unknownRefresh: (400, "invalid_grant", 9_002_313, "Invalid request. Request is malformed or invalid. The refresh token is not valid.")
            case .codeOtherClient, .refreshOtherClient: (400, "invalid_grant", 70000, "Provided grant is invalid or malformed. It was issued to another client.")
            case .scopeNotGranted: (400, "invalid_grant", 70000, "The request was denied because one or more scopes requested are unauthorized or expired. The user must first sign in and grant the client application access to the requested scope.")
            }
        }
        let traceID = Random.guid(), correlationID = Random.guid()
        let formatter = ISO8601DateFormatter()
        let timestamp = formatter.string(from: now).replacingOccurrences(of: "T", with: " ")
        return .json(status, .object([
            ("error", .string(error)),
            ("error_description", .string("AADSTS\(code): \(text) Trace ID: \(traceID) Correlation ID: \(correlationID) Timestamp: \(timestamp)")),
            ("error_codes", .array([.int(code)])),
            ("timestamp", .string(timestamp)),
            ("trace_id", .string(traceID)),
            ("correlation_id", .string(correlationID)),
            ("error_uri", .string("https://login.microsoftonline.com/error?code=\(code)")),
        ]), headers: [("Cache-Control", "no-store"), ("Pragma", "no-cache")])
    }

    /// "AADSTS70011: text" → (status, error, 70011, "text").
    static func splitAADSTS(_ message: String, status: Int, error: String) -> (Int, String, Int, String) {
        guard message.hasPrefix("AADSTS"), let colon = message.firstIndex(of: ":"),
              let code = Int(message[message.index(message.startIndex, offsetBy: 6)..<colon])
        else { return (status, error, 9_002_313, message) }
        return (status, error, code, String(message[message.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
    }

    private func legacyError(_ failure: TokenFailure) -> FakeResponse {
        let (status, error, text): (Int, String, String) = switch failure {
        case .invalidRequest(let detail): (400, "invalid_request", detail)
        case .missing(let name): (400, "invalid_request", "Missing parameter: \(name).")
        case .unexpected(let name): (400, "invalid_request", "Unexpected parameter: \(name).")
        case .unsupportedGrantType(let grant): (400, "unsupported_grant_type", "Unsupported grant_type '\(grant)'.")
        case .invalidClient(.appSecret): (401, "invalid_client", "Invalid client auth token. Failed to deserialize the JsonWebToken object.")
        case .invalidClient, .unauthorizedClient: (401, "invalid_client", "Invalid client assertion.")
        case .invalidScope(let message): (400, "invalid_scope", message)
        case .invalidGrant(let problem):
            switch problem {
            case .reusedCode: (400, "invalid_grant", "The authorization code has already been used.")
            case .expiredCode: (400, "invalid_grant", "The authorization code has expired.")
            case .redirectMismatch: (400, "invalid_grant", "The redirect_uri does not match the one used at authorization.")
            case .revokedRefresh, .unknownRefresh, .expiredRefresh, .refreshOtherClient: (400, "invalid_grant", "Invalid refresh token.")
            default: (400, "invalid_grant", "Invalid authorization code.")
            }
        }
        return .json(status, .object([("Error", .string(error)), ("ErrorDescription", .string(text))]))
    }

    private func githubError(_ failure: TokenFailure, acceptsJSON: Bool) -> FakeResponse {
        let (error, text): (String, String) = switch failure {
        case .invalidRequest(let detail): ("invalid_request", detail)
        case .missing("client_id"), .missing("client_secret"), .invalidClient, .unauthorizedClient:
            ("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
        case .missing("redirect_uri"), .invalidGrant(.redirectMismatch):
            ("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
        case .missing("refresh_token"): ("bad_refresh_token", "The refresh token passed is incorrect or expired.")
        case .missing(let name): ("bad_verification_code", "The code passed is incorrect or expired. (missing \(name))")
        case .unexpected(let name): ("invalid_request", "The parameter '\(name)' is not accepted here (fake-scm is strict).")
        case .unsupportedGrantType: ("unsupported_grant_type", "The grant type is not supported.")
        case .invalidScope(let message): ("invalid_scope", message)
        case .invalidGrant(.pkceMismatch):
            ("bad_verification_code", "The code passed is incorrect or expired. (The code_verifier does not match the code_challenge.)")
        case .invalidGrant(let problem) where problem.isRefresh:
            ("bad_refresh_token", "The refresh token passed is incorrect or expired.")
        case .invalidGrant: ("bad_verification_code", "The code passed is incorrect or expired.")
        }
        let anchor = error.replacingOccurrences(of: "_", with: "-")
        return githubBody([
            ("error", .string(error)), ("error_description", .string(text)),
            ("error_uri", .string("https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#\(anchor)")),
        ], acceptsJSON: acceptsJSON)
    }

    private func gitlabError(_ failure: TokenFailure) -> FakeResponse {
        let (status, error, text): (Int, String, String) = switch failure {
        case .invalidRequest(let detail): (400, "invalid_request", "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed. \(detail)")
        case .missing(let name): (400, "invalid_request", "Missing required parameter: \(name).")
        case .unexpected(let name): (400, "invalid_request", "The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed. Unexpected parameter: \(name).")
        case .unsupportedGrantType: (400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
        case .invalidClient, .unauthorizedClient:
            (401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
        case .invalidScope: (400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        case .invalidGrant:
            (400, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
        }
        return .json(status, .object([("error", .string(error)), ("error_description", .string(text))]))
    }

    private func bitbucketError(_ failure: TokenFailure) -> FakeResponse {
        let (status, error, text): (Int, String, String) = switch failure {
        case .invalidRequest(let detail): (400, "invalid_request", detail)
        case .missing(let name): (400, "invalid_request", "Missing required parameter: \(name)")
        case .unexpected(let name): (400, "invalid_request", "Unexpected parameter: \(name)")
        case .unsupportedGrantType(let grant): (400, "unsupported_grant_type", "Unsupported grant type: \(grant)")
        case .invalidClient(.bodyCredentials):
            (400, "invalid_client", "Client credentials must be sent with HTTP Basic authentication, not in the request body.")
        case .invalidClient, .unauthorizedClient: (401, "invalid_client", "Invalid OAuth client credentials")
        case .invalidScope(let message): (400, "invalid_scope", message)
        case .invalidGrant(let problem) where problem.isRefresh: (400, "invalid_grant", "Invalid refresh_token")
        case .invalidGrant(.redirectMismatch): (400, "invalid_grant", "The redirect_uri does not match the one used at authorization.")
        case .invalidGrant: (400, "invalid_grant", "The specified code is not valid.")
        }
        return .json(status, .object([("error", .string(error)), ("error_description", .string(text))]))
    }
}
