import Foundation

extension State {
    /// A usable access token of one of `kinds` from `Authorization: <scheme> <token>`.
    func bearer(_ request: FakeRequest, kinds: Set<FakeSCM.Kind>, schemes: Set<String> = ["bearer"]) -> (String, AccessRecord)? {
        guard let (scheme, token) = request.authorization, schemes.contains(scheme),
              let record = accessTokens[token], kinds.contains(record.kind), isUsable(record.revoked, record.expiresAt)
        else { return nil }
        return (token, record)
    }

    // MARK: Azure DevOps

    /// `HEAD|GET /ado/{org}`: how clients discover the organization's Entra tenant.
    func adoOrganizationRoot(org: String) -> FakeResponse {
        guard let organization = organizations[org.lowercased()] else { return adoNotFound(org) }
        return FakeResponse(status: 401, headers: adoChallengeHeaders(organization), body: "")
    }

    mutating func adoConnectionData(org: String, _ request: FakeRequest) -> FakeResponse {
        guard let organization = organizations[org.lowercased()] else {
            stats.count(nil, \.apiCalls)
            return adoNotFound(org)
        }
        let user: FakeSCM.User
        switch adoCaller(organization, request) {
        case .answer(let answer): return answer
        case .proceed(.oauth(let record)): user = record.user
        case .proceed(.pat(let record)): user = record.pat.user
        }
        let identity = JSON.object([
            ("id", .string(user.azureDevOpsID)),
            ("descriptor", .string("Microsoft.IdentityModel.Claims.ClaimsIdentity;\(organization.tenant)\\\(user.email)")),
            ("subjectDescriptor", .string("aad." + Base64URL.encode(Array(user.azureDevOpsID.utf8)))),
            ("providerDisplayName", .string(user.displayName)),
            ("isActive", .bool(true)),
            ("properties", .object([
                ("Account", .object([("$type", .string("System.String")), ("$value", .string(user.email))])),
            ])),
            ("resourceVersion", .int(2)),
            ("metaTypeId", .int(0)),
        ])
        return .json(200, .object([
            ("authenticatedUser", identity),
            ("authorizedUser", identity),
            ("instanceId", .string(organization.instanceID)),
            ("deploymentId", .string(derivedGUID("deployment:" + organization.name))),
            ("deploymentType", .string("hosted")),
        ]), headers: [("X-VSS-ResourceTenant", organization.tenant)])
    }

    func adoChallengeHeaders(_ organization: Organization) -> [(String, String)] {
        [
            ("X-VSS-ResourceTenant", organization.tenant),
            ("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/\(organization.tenant)"),
            ("WWW-Authenticate", "Basic realm=\"https://dev.azure.com/\""),
        ]
    }

    func adoNotFound(_ org: String) -> FakeResponse {
        .json(404, .object([
            ("$id", .string("1")), ("innerException", .null),
            ("message", .string("The organization '\(org)' does not exist.")),
            ("typeName", .string("Microsoft.VisualStudio.Services.Account.AccountNotFoundException, Microsoft.VisualStudio.Services.WebApi")),
            ("typeKey", .string("AccountNotFoundException")), ("errorCode", .int(0)), ("eventId", .int(3000)),
        ]))
    }

    // MARK: GitHub

    mutating func githubUser(_ request: FakeRequest) -> FakeResponse {
        stats.count(.github, \.apiCalls)
        let badCredentials = FakeResponse.json(401, .object([
            ("message", .string("Bad credentials")),
            ("documentation_url", .string("https://docs.github.com/rest")),
            ("status", .string("401")),
        ]))
        let user: FakeSCM.User
        let token: String
        var headers: [(String, String)] = []
        if let (accessToken, record) = bearer(request, kinds: [.github], schemes: ["bearer", "token"]) {
            user = record.user
            token = accessToken
            if let app = app(.github, record.clientID), !app.expiringTokens {
                headers.append(("X-OAuth-Scopes", record.scope.split(separator: ",").joined(separator: ", ")))
            }
        } else if let (scheme, credentials) = request.authorization, scheme == "token" || scheme == "bearer",
                  let use = usePAT(credentials, .github) {
            switch use {
            case .refused: return badCredentials
            case .rateLimited(let answer): return answer
            case .accepted(let record):
                user = record.pat.user
                token = credentials
                // Fine-grained PATs have permissions, not scopes: no X-OAuth-Scopes at all.
                if !credentials.hasPrefix("github_pat_") {
                    headers.append(("X-OAuth-Scopes", record.pat.scopes.joined(separator: ", ")))
                }
                if let expiresAt = record.pat.expiresAt {
                    headers.append(("GitHub-Authentication-Token-Expiration", DateText.githubExpiration(expiresAt)))
                }
            }
        } else {
            return badCredentials
        }
        headers += githubRateHeaders(token)
        return .json(200, .object([
            ("login", .string(user.login)),
            ("id", .int(user.githubID)),
            ("node_id", .string("U_" + Base64URL.encode(Array("04:User\(user.githubID)".utf8)))),
            ("type", .string("User")),
            ("site_admin", .bool(false)),
            ("name", .string(user.displayName)),
            ("email", .string(user.email)),
        ]), headers: headers)
    }

    // MARK: GitLab

    mutating func gitlabUser(_ request: FakeRequest) -> FakeResponse {
        stats.count(.gitlab, \.apiCalls)
        let user: FakeSCM.User
        let scopes: Set<String>
        if let (_, record) = bearer(request, kinds: [.gitlab]) {
            user = record.user
            scopes = Set(record.scope.split(separator: " ").map(String.init))
        } else if let token = request.gitlabPAT, let use = usePAT(token, .gitlab) {
            switch use {
            case .refused(let record): return gitlabRefused(record)
            case .rateLimited(let answer): return answer
            case .accepted(let record):
                user = record.pat.user
                scopes = Set(record.pat.scopes)
            }
        } else {
            return .json(401, .object([("message", .string("401 Unauthorized"))]))
        }
        // GitLab: /user needs api, read_api or read_user; repository scopes are not enough.
        guard !scopes.isDisjoint(with: ["api", "read_api", "read_user"]) else {
            return .json(403, .object([
                ("error", .string("insufficient_scope")),
                ("error_description", .string("The request requires higher privileges than provided by the access token.")),
                ("scope", .string("api read_api read_user")),
            ]), headers: [("WWW-Authenticate", "Bearer realm=\"Protected by OAuth 2.0\", error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", scope=\"api read_api read_user\"")])
        }
        return .json(200, .object([
            ("id", .int(user.gitlabID)),
            ("username", .string(user.login)),
            ("name", .string(user.displayName)),
            ("state", .string("active")),
            ("email", .string(user.email)),
        ]))
    }

    mutating func gitlabTokenInfo(_ request: FakeRequest) -> FakeResponse {
        stats.count(.gitlab, \.apiCalls)
        guard let (_, record) = bearer(request, kinds: [.gitlab]) else {
            return .json(401, .object([
                ("error", .string("invalid_token")), ("error_description", .string("The access token is invalid")),
                ("state", .string("unauthorized")),
            ]))
        }
        let remaining = record.expiresAt.map { JSON.int(max(0, Int($0.timeIntervalSince(now)))) } ?? .null
        let scopes = JSON.array(record.scope.split(separator: " ").map { .string(String($0)) })
        return .json(200, .object([
            ("resource_owner_id", .int(record.user.gitlabID)),
            ("scope", scopes),
            ("expires_in", remaining),
            ("application", .object([("uid", .string(record.clientID))])),
            ("created_at", .int(Int(record.issuedAt.timeIntervalSince1970))),
            ("scopes", scopes),
            ("expires_in_seconds", remaining),
        ]))
    }

    /// RFC 7009 revocation: revoking either token of a pair revokes both (Doorkeeper).
    mutating func gitlabRevoke(_ request: FakeRequest) -> FakeResponse {
        func error(_ status: Int, _ code: String, _ text: String) -> FakeResponse {
            .json(status, .object([("error", .string(code)), ("error_description", .string(text))]))
        }
        guard request.hasFormContentType, let text = String(validating: request.body, as: UTF8.self) else {
            return error(400, "invalid_request", "The request body must be application/x-www-form-urlencoded.")
        }
        let form: [String: String]
        switch Form.parse(text) {
        case .success(let fields): form = fields
        case .failure: return error(400, "invalid_request", "The request body is not valid form encoding or repeats a parameter.")
        }
        for name in form.keys where !["client_id", "client_secret", "token", "token_type_hint"].contains(name) {
            return error(400, "invalid_request", "Unexpected parameter: \(name).")
        }
        for name in ["client_id", "client_secret", "token"] where (form[name] ?? "").isEmpty {
            return error(400, "invalid_request", "Missing required parameter: \(name).")
        }
        guard let app = app(.gitlab, form["client_id"]!), app.clientSecret == form["client_secret"] else {
            return error(401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
        }
        let token = form["token"]!
        var pair: (access: String, refresh: String?)?
        if let record = accessTokens[token], record.kind == .gitlab {
            guard record.clientID == app.clientID else {
                return error(403, "unauthorized_client", "You are not authorized to revoke this token")
            }
            pair = (token, refreshTokens.first { $0.value.accessToken == token }?.key)
        } else if let record = refreshTokens[token], record.kind == .gitlab {
            guard record.clientID == app.clientID else {
                return error(403, "unauthorized_client", "You are not authorized to revoke this token")
            }
            pair = (record.accessToken, token)
        }
        if let pair {
            accessTokens[pair.access]?.revoked = true
            if let refresh = pair.refresh { refreshTokens[refresh]?.revoked = true }
            stats.count(.gitlab, \.revocations)
        }
        return .json(200, .object([]))
    }

    // MARK: Bitbucket

    mutating func bitbucketUser(_ request: FakeRequest) -> FakeResponse {
        stats.count(.bitbucket, \.apiCalls)
        let user: FakeSCM.User
        switch bitbucketCaller(request) {
        case .answer(let answer): return answer
        case .proceed(let caller): user = caller.user
        }
        let uuid = "{" + derivedGUID("bitbucket:" + user.id) + "}"
        return .json(200, .object([
            ("display_name", .string(user.displayName)),
            ("type", .string("user")),
            ("uuid", .string(uuid)),
            ("account_id", .string("557058:" + derivedGUID("bitbucket-account:" + user.id))),
            ("nickname", .string(user.login)),
            ("username", .string(user.login)),
        ]))
    }

    /// An OAuth bearer token or a PAT (HTTP Basic, user name checked), or the refusal.
    mutating func bitbucketCaller(_ request: FakeRequest) -> Gate<BitbucketCaller> {
        if let (_, record) = bearer(request, kinds: [.bitbucket]) {
            return .proceed(.oauth(record))
        }
        if let (username, password) = request.basicCredentials,
           let use = usePAT(password, .bitbucket, valid: { $0.basicUsername == username }) {
            switch use {
            case .accepted(let record): return .proceed(.pat(record))
            case .rateLimited(let answer): return .answer(answer)
            case .refused: break
            }
        }
        if request.authorization?.scheme == "basic" {
            return .answer(.json(401, .object([
                ("type", .string("error")), ("error", .object([("message", .string("Invalid credentials"))])),
            ]), headers: [("WWW-Authenticate", "Basic realm=\"Bitbucket.org HTTP\"")]))
        }
        let expired = request.authorization.flatMap { accessTokens[$0.credentials] }.map { !$0.revoked } ?? false
        let message = expired ? "Access token expired. Use your refresh token to obtain a new access token."
            : "Token is invalid, expired, or not supported for this endpoint."
        return .answer(.json(401, .object([("type", .string("error")), ("error", .object([("message", .string(message))]))])))
    }
}
