import Foundation

let azureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"
let oidcScopes: Set<String> = ["openid", "profile", "email", "offline_access"]
let gitlabScopes: Set<String> = [
    "api", "read_api", "read_user", "read_repository", "write_repository", "read_registry", "write_registry",
    "sudo", "admin_mode", "openid", "profile", "email", "create_runner", "manage_runner", "k8s_proxy",
    "ai_features", "read_virtual_registry", "write_virtual_registry", "self_rotate",
]
let bitbucketScopes = "repository:write account"

extension State {
    /// The authorize step. Errors about the client or the redirect URI get an HTML page (no
    /// redirect, RFC 6749 §4.1.2.1); every other error redirects back with `error`.
    mutating func authorize(_ kind: FakeSCM.Kind, tenant: String?, _ request: FakeRequest) -> FakeResponse {
        stats.count(kind, \.authorizeRequests)
        let query: [String: String]
        switch Form.parse(request.query ?? "") {
        case .success(let fields): query = fields
        case .failure(.repeated(let name)):
            return .html(400, title: "Bad request", message: "The parameter '\(name)' is repeated.")
        case .failure:
            return .html(400, title: "Bad request", message: "The query string is not valid.")
        }

        guard let clientID = query["client_id"], !clientID.isEmpty else {
            return authorizePage(kind, "The request must contain the parameter 'client_id'.")
        }
        guard let app = app(kind, clientID) else {
            return authorizePage(kind, unknownClientMessage(kind, clientID, tenant: tenant))
        }
        if kind == .entra, let tenant, let problem = tenantProblem(tenant, app: app) {
            return authorizePage(kind, problem)
        }
        let redirectURI: String
        if let sent = query["redirect_uri"], !sent.isEmpty {
            guard acceptsRedirect(sent, for: app) else {
                return authorizePage(kind, redirectMismatchMessage(kind, sent, clientID: clientID))
            }
            redirectURI = sent
        } else if kind == .bitbucket, let callback = app.redirectURIs.first {
            redirectURI = callback
        } else {
            return authorizePage(kind, "The request must contain the parameter 'redirect_uri'.")
        }

        // From here on errors go back to the client.
        let state = query["state"]
        func fail(_ error: String, _ description: String) -> FakeResponse {
            .redirect(Self.append(to: redirectURI, [("error", error), ("error_description", description)] + (state.map { [("state", $0)] } ?? [])))
        }
        if let failure = pendingAuthorizeFailure {
            pendingAuthorizeFailure = nil
            var fields = [("error", failure.error)]
            if let description = failure.description { fields.append(("error_description", description)) }
            if let state { fields.append(("state", state)) }
            return .redirect(Self.append(to: redirectURI, fields))
        }
        guard let state, !state.isEmpty else {
            return fail("invalid_request", "The fake requires a 'state' parameter (CSRF protection).")
        }

        let expectedResponseType = kind == .legacy ? "Assertion" : "code"
        if kind == .github {
            if let type = query["response_type"], type != "code" {
                return fail("unsupported_response_type", "The response_type must be 'code'.")
            }
        } else if query["response_type"] != expectedResponseType {
            return fail("unsupported_response_type", "The response_type must be '\(expectedResponseType)'.")
        }
        if kind == .entra, let mode = query["response_mode"], mode != "query" {
            return fail("invalid_request", "AADSTS900144: The fake supports response_mode=query only.")
        }

        var challenge: String?
        if kind == .entra || kind == .github || kind == .gitlab {
            guard let sent = query["code_challenge"], !sent.isEmpty else {
                return fail("invalid_request", pkceMessage(kind, "The code_challenge parameter is required (PKCE)."))
            }
            guard query["code_challenge_method"] == "S256" else {
                return fail("invalid_request", pkceMessage(kind, "The code_challenge_method must be 'S256'."))
            }
            guard PKCE.isValidChallenge(sent) else {
                return fail("invalid_request", pkceMessage(kind, "The code_challenge is not a valid S256 challenge."))
            }
            challenge = sent
        }

        let scope: String
        switch authorizeScope(kind, query["scope"]) {
        case .success(let granted): scope = granted
        case .failure(let problem): return fail("invalid_scope", problem.message)
        }

        let code = makeCode(kind)
        codes[code] = CodeRecord(
            kind: kind, clientID: clientID, redirectURI: redirectURI, scope: scope, challenge: challenge,
            user: currentUser, expiresAt: now.addingTimeInterval(codeLifetime), family: code
        )
        return .redirect(Self.append(to: redirectURI, [("code", code), ("state", state)]))
    }

    struct ScopeProblem: Error {
        var message: String
    }

    /// Validates the requested scope and returns what is bound to the code.
    func authorizeScope(_ kind: FakeSCM.Kind, _ sent: String?) -> Result<String, ScopeProblem> {
        let scopes = (sent ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        switch kind {
        case .entra:
            if let problem = Self.entraScopeProblem(scopes) { return .failure(ScopeProblem(message: problem)) }
            return .success(scopes.joined(separator: " "))
        case .legacy:
            guard !scopes.isEmpty, scopes.allSatisfy({ $0.hasPrefix("vso.") && $0.count > 4 }) else {
                return .failure(ScopeProblem(message: "Invalid scope. Scopes are Azure DevOps scopes such as vso.code_write."))
            }
            return .success(scopes.joined(separator: " "))
        case .github:
            return .success(scopes.joined(separator: ","))
        case .gitlab:
            guard !scopes.isEmpty, scopes.allSatisfy(gitlabScopes.contains) else {
                return .failure(ScopeProblem(message: "The requested scope is invalid, unknown, or malformed."))
            }
            return .success(scopes.joined(separator: " "))
        case .bitbucket:
            // Scopes are set on the consumer, not requested.
            return .success(bitbucketScopes)
        }
    }

    /// Entra: Azure DevOps scopes only (plus OpenID Connect ones), at least one of
    /// vso.code, vso.code_write or .default, and .default alone.
    static func entraScopeProblem(_ scopes: [String]) -> String? {
        let prefix = azureDevOpsResource + "/"
        let resourceScopes = scopes.filter { !oidcScopes.contains($0) }
        let invalid = "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid."
        guard resourceScopes.allSatisfy({ $0.hasPrefix(prefix) && $0.count > prefix.count }) else {
            return invalid + " Only Azure DevOps (\(azureDevOpsResource)) scopes are accepted by the fake."
        }
        let names = Set(resourceScopes.map { String($0.dropFirst(prefix.count)) })
        guard !names.isDisjoint(with: ["vso.code", "vso.code_write", ".default"]) else {
            return invalid + " The scope must contain \(prefix)vso.code, \(prefix)vso.code_write or \(prefix).default."
        }
        if names.contains(".default"), names.count > 1 {
            return "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope .default cannot be combined with other scopes of the same resource."
        }
        return nil
    }

    func tenantProblem(_ tenant: String, app: FakeSCM.App) -> String? {
        let lower = tenant.lowercased()
        if lower == "consumers" {
            return "AADSTS9002331: Application '\(app.clientID)' is configured for use by Microsoft Account users only… Azure DevOps does not accept personal Microsoft accounts through Entra."
        }
        if lower == "organizations" || lower == "common" { return nil }
        if let home = app.tenant, home.lowercased() != lower {
            return unknownClientMessage(.entra, app.clientID, tenant: tenant)
        }
        return nil
    }

    func unknownClientMessage(_ kind: FakeSCM.Kind, _ clientID: String, tenant: String?) -> String {
        switch kind {
        case .entra:
            "AADSTS700016: Application with identifier '\(clientID)' was not found in the directory '\(tenant ?? "")'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        case .legacy: "The client_id '\(clientID)' is not a registered Azure DevOps application."
        case .github: "The client_id '\(clientID)' does not belong to an OAuth application."
        case .gitlab: "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."
        case .bitbucket: "Invalid client_id: no OAuth consumer with this key."
        }
    }

    func redirectMismatchMessage(_ kind: FakeSCM.Kind, _ uri: String, clientID: String) -> String {
        switch kind {
        case .entra:
            "AADSTS50011: The redirect URI '\(uri)' specified in the request does not match the redirect URIs configured for the application '\(clientID)'."
        case .legacy: "Invalid redirect_uri: '\(uri)' does not match the application's callback URL."
        case .github: "The redirect_uri is not associated with this application."
        case .gitlab: "The redirect uri included is not valid."
        case .bitbucket: "Invalid redirect_uri: it does not match the consumer's callback URL."
        }
    }

    func pkceMessage(_ kind: FakeSCM.Kind, _ text: String) -> String {
        kind == .entra ? "AADSTS9002325: Proof Key for Code Exchange is required. " + text : text
    }

    func authorizePage(_ kind: FakeSCM.Kind, _ message: String) -> FakeResponse {
        let title = switch kind {
        case .entra: "Sign in to your account"
        case .legacy: "Azure DevOps Services | Authorization error"
        case .github: "Redirect URI mismatch · GitHub"
        case .gitlab: "An error has occurred"
        case .bitbucket: "Bitbucket | OAuth error"
        }
        return .html(400, title: title, message: message)
    }

    func makeCode(_ kind: FakeSCM.Kind) -> String {
        switch kind {
        case .entra: "1.AXEA" + Random.base64URL(bytes: 360)
        case .legacy: fakeJWT([("typ", .string("code")), ("exp", .int(Int(now.timeIntervalSince1970 + codeLifetime)))], bytes: 120)
        case .github: Random.hex(bytes: 10)
        case .gitlab: Random.hex(bytes: 32)
        case .bitbucket: Random.alphanumeric(18)
        }
    }

    /// A JWT-shaped opaque string (the signature is random), as Microsoft's tokens look.
    func fakeJWT(_ claims: [(String, JSON)], bytes: Int) -> String {
        let header = JSON.object([("typ", .string("JWT")), ("alg", .string("RS256")), ("x5t", .string("fake-scm")), ("kid", .string("fake-scm"))])
        let payload = JSON.object(claims + [("jti", .string(Random.guid()))])
        return Base64URL.encode(Array(header.text.utf8)) + "." + Base64URL.encode(Array(payload.text.utf8)) + "." + Random.base64URL(bytes: bytes)
    }

    /// `uri` with `fields` appended to its query.
    static func append(to uri: String, _ fields: [(String, String)]) -> String {
        uri + (uri.contains("?") ? "&" : "?") + Form.encode(fields)
    }
}
