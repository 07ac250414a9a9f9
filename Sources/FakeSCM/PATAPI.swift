import Foundation

// Personal access tokens at the providers' REST APIs: lookup, rate limits, injected failures,
// and the endpoints that only PAT validation needs (Azure DevOps repositories, GitLab's PAT
// self-check, Bitbucket's repository list). The "who am I" endpoints are in API.swift.

/// Either go on with a value or answer at once.
enum Gate<Value> {
    case proceed(Value)
    case answer(FakeResponse)
}

/// What a presented PAT came to.
enum PATUse {
    /// Revoked, expired, or not valid here (another organization, the wrong user name).
    case refused(PATRecord)
    /// Valid, but a rate limit was armed: the answer to send.
    case rateLimited(FakeResponse)
    case accepted(PATRecord)
}

enum ADOCaller {
    case oauth(AccessRecord)
    case pat(PATRecord)
}

enum BitbucketCaller {
    case oauth(AccessRecord)
    case pat(PATRecord)

    var user: FakeSCM.User {
        switch self {
        case .oauth(let record): record.user
        case .pat(let record): record.pat.user
        }
    }
}

extension FakeSCM.Provider {
    /// The stats bucket of the provider's API calls; Azure DevOps has none (its calls count
    /// under the OAuth flavor of the token, or in the totals only).
    var kind: FakeSCM.Kind? {
        switch self {
        case .azureDevOps: nil
        case .github: .github
        case .gitlab: .gitlab
        case .bitbucket: .bitbucket
        }
    }

    /// The provider whose REST API serves `segments`, if any.
    static func api(serving segments: [String]) -> FakeSCM.Provider? {
        if segments.count >= 3, segments[0] == "ado", segments[2] == "_apis" { return .azureDevOps }
        if segments.starts(with: ["github", "api"]) { return .github }
        if segments.starts(with: ["gitlab", "api", "v4"]) { return .gitlab }
        if segments.starts(with: ["bitbucket", "api", "2.0"]) { return .bitbucket }
        return nil
    }
}

enum DateText {
    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter
    }

    /// `2026-12-27 10:00:00 UTC`, GitHub's `GitHub-Authentication-Token-Expiration`.
    static func githubExpiration(_ date: Date) -> String {
        formatter("yyyy-MM-dd HH:mm:ss 'UTC'").string(from: date)
    }

    /// `2026-12-27`, GitLab's `expires_at`.
    static func day(_ date: Date) -> String {
        formatter("yyyy-MM-dd").string(from: date)
    }

    /// `2026-01-05T09:30:12.345Z`, GitLab's timestamps.
    static func iso8601Milliseconds(_ date: Date) -> String {
        formatter("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").string(from: date)
    }
}

extension State {
    // MARK: Shared

    /// Looks `token` up as a PAT of `provider`. Nil when it is not one (the call is not a PAT
    /// call). Otherwise counts the call and says whether the PAT is refused, rate-limited
    /// (an armed `rateLimitNext`, consumed only by valid PATs) or accepted.
    mutating func usePAT(_ token: String, _ provider: FakeSCM.Provider,
                         valid: (PATRecord) -> Bool = { _ in true }) -> PATUse? {
        guard let record = pats[token], record.pat.provider == provider else { return nil }
        stats.countPAT(provider, \.apiCalls)
        guard isUsable(record.pat.revoked, record.pat.expiresAt), valid(record) else {
            stats.countPAT(provider, \.refused)
            return .refused(record)
        }
        if var queue = pendingRateLimits[provider], !queue.isEmpty {
            let style = queue.removeFirst()
            pendingRateLimits[provider] = queue
            stats.countPAT(provider, \.rateLimited)
            return .rateLimited(rateLimitAnswer(provider, style, user: record.pat.user))
        }
        return .accepted(record)
    }

    func rateLimitAnswer(_ provider: FakeSCM.Provider, _ style: FakeSCM.RateLimitStyle, user: FakeSCM.User) -> FakeResponse {
        let reset = String(Int(now.timeIntervalSince1970) + 60)
        switch style {
        case .githubForbidden:
            return .json(403, .object([
                ("message", .string("API rate limit exceeded for user ID \(user.githubID).")),
                ("documentation_url", .string("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")),
            ]), headers: [
                ("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", reset),
                ("X-RateLimit-Used", "5000"), ("X-RateLimit-Resource", "core"),
            ])
        case .tooManyRequests:
            let retryAfter = ("Retry-After", "1")
            switch provider {
            case .azureDevOps:
                return .json(429, .object([
                    ("$id", .string("1")), ("innerException", .null),
                    ("message", .string("Request was blocked due to exceeding usage of resource 'ATCPU' in namespace 'User'.")),
                    ("typeName", .string("Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server")),
                    ("typeKey", .string("RequestBlockedException")), ("errorCode", .int(0)), ("eventId", .int(3000)),
                ]), headers: [
                    retryAfter, ("X-RateLimit-Resource", "ATCPU"), ("X-RateLimit-Delay", "1"),
                    ("X-RateLimit-Limit", "200"), ("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", reset),
                ])
            case .github:
                return .json(429, .object([
                    ("message", .string("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")),
                    ("documentation_url", .string("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")),
                ]), headers: [retryAfter])
            case .gitlab:
                // Rack::Attack's throttle answer: plain text.
                return .text(429, "Retry later\n", headers: [
                    retryAfter, ("RateLimit-Name", "throttle_authenticated_api"), ("RateLimit-Limit", "2000"),
                    ("RateLimit-Observed", "2001"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", reset),
                ])
            case .bitbucket:
                return .json(429, .object([
                    ("type", .string("error")),
                    ("error", .object([("message", .string("Rate limit for this resource has been exceeded"))])),
                ]), headers: [retryAfter])
            }
        }
    }

    /// An armed `failNextAPICalls` answer for a request under a provider's API base.
    mutating func injectedAPIFailure(_ segments: [String]) -> FakeResponse? {
        guard let provider = FakeSCM.Provider.api(serving: segments),
              var queue = pendingAPIFailures[provider], !queue.isEmpty
        else { return nil }
        let status = queue.removeFirst()
        pendingAPIFailures[provider] = queue
        stats.count(provider.kind, \.apiCalls)
        stats.countPAT(provider, \.injectedFailures)
        let reason = switch status {
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Server Error"
        }
        return .json(status, .object([("message", .string("\(status) \(reason) (fake-scm: injected failure)"))]))
    }

    // MARK: Azure DevOps

    /// Who calls an organization's API: an OAuth token (Entra or legacy, bearer) or a PAT
    /// (Basic, any user name, even empty), or the answer that refuses them.
    mutating func adoCaller(_ organization: Organization, _ request: FakeRequest) -> Gate<ADOCaller> {
        if let (_, record) = bearer(request, kinds: [.entra, .legacy]) {
            stats.count(record.kind, \.apiCalls)
            if organization.oauthBlocked {
                return .answer(.json(401, .object([
                    ("$id", .string("1")), ("innerException", .null),
                    ("message", .string("TF400813: The user '\(record.user.azureDevOpsID)' is not authorized to access this resource.")),
                    ("typeName", .string("Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server")),
                    ("typeKey", .string("UnauthorizedRequestException")), ("errorCode", .int(0)), ("eventId", .int(3000)),
                ]), headers: adoChallengeHeaders(organization)))
            }
            return .proceed(.oauth(record))
        }
        stats.count(nil, \.apiCalls)
        let name = organization.name.lowercased()
        if let (_, password) = request.basicCredentials,
           let use = usePAT(password, .azureDevOps, valid: { $0.pat.organization.map { $0.lowercased() == name } ?? true }) {
            switch use {
            case .accepted(let record): return .proceed(.pat(record))
            case .rateLimited(let answer): return .answer(answer)
            case .refused: break
            }
        }
        if request.header("x-tfs-fedauthredirect")?.lowercased() == "suppress" {
            return .answer(.json(401, .object([("message", .string("Unauthorized"))]), headers: adoChallengeHeaders(organization)))
        }
        // Quirk: without the header a refused credential gets a sign-in page, not a 401.
        return .answer(.html(203, title: "Azure DevOps Services | Sign In",
                             message: "Sign in to continue to Azure DevOps. (fake-scm: the credentials were missing, invalid or expired.)",
                             headers: [("X-VSS-ResourceTenant", organization.tenant)]))
    }

    /// `GET /ado/{org}/_apis/git/repositories?api-version=7.1`: the Code (read) probe.
    mutating func adoRepositories(org: String, _ request: FakeRequest) -> FakeResponse {
        guard let organization = organizations[org.lowercased()] else {
            stats.count(nil, \.apiCalls)
            return adoNotFound(org)
        }
        let caller: ADOCaller
        switch adoCaller(organization, request) {
        case .answer(let answer): return answer
        case .proceed(let value): caller = value
        }
        if let problem = adoAPIVersionProblem(request) { return problem }
        if case .pat(let record) = caller, !record.pat.canReadCode {
            // A PAT's missing scope shows as a 401 on the API that needs it (whatever the
            // FedAuthRedirect header: the credentials themselves are fine).
            return .json(401, .object([
                ("$id", .string("1")), ("innerException", .null),
                ("message", .string("Access denied: the personal access token used does not have the scopes required for this request (vso.code).")),
                ("typeName", .string("Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server")),
                ("typeKey", .string("UnauthorizedRequestException")), ("errorCode", .int(0)), ("eventId", .int(3000)),
            ]), headers: adoChallengeHeaders(organization))
        }
        let orgURL = "https://dev.azure.com/" + Form.percentEncode(organization.name)
        let value: [JSON] = (repositories[organization.name.lowercased()] ?? []).map { entry in
            let (project, name) = Self.splitRepository(entry)
            let projectID = derivedGUID("ado-project:\(organization.name.lowercased())/\(project.lowercased())")
            let id = derivedGUID("ado-repo:\(organization.name.lowercased())/\(project.lowercased())/\(name.lowercased())")
            let web = orgURL + "/" + Form.percentEncode(project) + "/_git/" + Form.percentEncode(name)
            return .object([
                ("id", .string(id)),
                ("name", .string(name)),
                ("url", .string(orgURL + "/" + projectID + "/_apis/git/repositories/" + id)),
                ("project", .object([
                    ("id", .string(projectID)), ("name", .string(project)),
                    ("url", .string(orgURL + "/_apis/projects/" + projectID)),
                    ("state", .string("wellFormed")), ("revision", .int(1)), ("visibility", .string("private")),
                ])),
                ("defaultBranch", .string("refs/heads/main")),
                ("size", .int(0)),
                ("remoteUrl", .string(web)),
                ("sshUrl", .string("git@ssh.dev.azure.com:v3/\(Form.percentEncode(organization.name))/\(Form.percentEncode(project))/\(Form.percentEncode(name))")),
                ("webUrl", .string(web)),
                ("isDisabled", .bool(false)),
                ("isInMaintenance", .bool(false)),
            ])
        }
        return .json(200, .object([("count", .int(value.count)), ("value", .array(value))]),
                     headers: [("X-VSS-ResourceTenant", organization.tenant)])
    }

    /// `repo` is in project `web`; `project/repo` names its project.
    static func splitRepository(_ entry: String) -> (project: String, name: String) {
        guard let slash = entry.firstIndex(of: "/") else { return ("web", entry) }
        return (String(entry[..<slash]), String(entry[entry.index(after: slash)...]))
    }

    /// Azure DevOps needs `api-version` (query, or a parameter of `Accept`): missing,
    /// malformed, above 7.2, or 7.2 without `-preview` is a 400.
    func adoAPIVersionProblem(_ request: FakeRequest) -> FakeResponse? {
        func problem(_ typeKey: String, _ message: String) -> FakeResponse {
            .json(400, .object([
                ("$id", .string("1")), ("innerException", .null), ("message", .string(message)),
                ("typeName", .string("Microsoft.VisualStudio.Services.WebApi.\(typeKey), Microsoft.VisualStudio.Services.WebApi")),
                ("typeKey", .string(typeKey)), ("errorCode", .int(0)), ("eventId", .int(3000)),
            ]))
        }
        guard let fields = request.queryFields else {
            return problem("VssVersionNotSpecifiedException", "The query string is malformed or repeats a parameter.")
        }
        var version = fields["api-version"]
        if version == nil, let accept = request.header("accept") {
            for parameter in accept.split(separator: ";").dropFirst() {
                let parts = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0].lowercased() == "api-version" { version = parts[1] }
            }
        }
        guard let version, !version.isEmpty else {
            return problem("VssVersionNotSpecifiedException",
                           "No api-version was supplied for the \"GET\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. '?api-version=1.0').")
        }
        let parts = version.split(separator: "-", maxSplits: 1)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        let preview = parts.count == 2
        guard numbers.count == 2, let major = numbers[0], let minor = numbers[1], major >= 1,
              !preview || parts[1] == "preview" || (parts[1].hasPrefix("preview.") && Int(parts[1].dropFirst(8)) != nil)
        else {
            return problem("VssInvalidApiVersionException", "The api-version '\(version)' is not valid.")
        }
        if (major, minor) > (7, 2) {
            return problem("VssVersionOutOfRangeException",
                           "The requested REST API version of \(major).\(minor) is out of range for this server. The latest REST API version for this server is 7.2.")
        }
        if (major, minor) == (7, 2), !preview {
            return problem("VssInvalidPreviewVersionException",
                           "The requested version \"7.2\" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: \"7.2-preview\"")
        }
        return nil
    }

    // MARK: GitHub

    /// `X-RateLimit-*` of a normal answer: 5000 calls an hour per token; counts this call.
    mutating func githubRateHeaders(_ token: String) -> [(String, String)] {
        var window = githubRateWindows[token] ?? RateWindow(start: now, used: 0)
        if now >= window.start.addingTimeInterval(3600) { window = RateWindow(start: now, used: 0) }
        window.used += 1
        githubRateWindows[token] = window
        return [
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", String(max(0, 5000 - window.used))),
            ("X-RateLimit-Reset", String(Int(window.start.timeIntervalSince1970) + 3600)),
            ("X-RateLimit-Used", String(window.used)),
            ("X-RateLimit-Resource", "core"),
        ]
    }

    // MARK: GitLab

    /// A refused GitLab PAT: 401 `{"message":"401 Unauthorized"}`; the reason (GitLab's
    /// `invalid_token`) is in `WWW-Authenticate`.
    func gitlabRefused(_ record: PATRecord) -> FakeResponse {
        let description = record.pat.revoked ? "Token was revoked. You have to re-authorize from the user." : "Token has expired."
        return .json(401, .object([("message", .string("401 Unauthorized"))]), headers: [
            ("WWW-Authenticate", "Bearer realm=\"Protected by OAuth 2.0\", error=\"invalid_token\", error_description=\"\(description)\""),
        ])
    }

    /// `GET /gitlab/api/v4/personal_access_tokens/self` (`PRIVATE-TOKEN` or bearer PAT).
    mutating func gitlabPATSelf(_ request: FakeRequest) -> FakeResponse {
        stats.count(.gitlab, \.apiCalls)
        guard let token = request.gitlabPAT, let use = usePAT(token, .gitlab) else {
            return .json(401, .object([("message", .string("401 Unauthorized"))]))
        }
        let record: PATRecord
        switch use {
        case .refused(let refused): return gitlabRefused(refused)
        case .rateLimited(let answer): return answer
        case .accepted(let accepted): record = accepted
        }
        return .json(200, .object([
            ("id", .int(record.id)),
            ("name", .string("scm-broker")),
            ("revoked", .bool(false)),
            ("created_at", .string(DateText.iso8601Milliseconds(record.createdAt))),
            ("scopes", .array(record.pat.scopes.map { .string($0) })),
            ("user_id", .int(record.pat.user.gitlabID)),
            ("last_used_at", .null),
            ("active", .bool(true)),
            ("expires_at", record.pat.expiresAt.map { .string(DateText.day($0)) } ?? .null),
        ]))
    }

    // MARK: Bitbucket

    /// `GET /bitbucket/api/2.0/repositories/{workspace}[?role=member&page=N&pagelen=M]`.
    mutating func bitbucketRepositories(workspace: String, _ request: FakeRequest) -> FakeResponse {
        stats.count(.bitbucket, \.apiCalls)
        func error(_ status: Int, _ message: String) -> FakeResponse {
            .json(status, .object([("type", .string("error")), ("error", .object([("message", .string(message))]))]))
        }
        let caller: BitbucketCaller
        switch bitbucketCaller(request) {
        case .answer(let answer): return answer
        case .proceed(let value): caller = value
        }
        guard let fields = request.queryFields else { return error(400, "Invalid query string.") }
        if let role = fields["role"], !["member", "contributor", "admin", "owner"].contains(role) {
            return error(400, "'\(role)' is not a valid role. Valid roles are: member, contributor, admin, owner.")
        }
        let page = fields["page"].map { Int($0) } ?? 1
        let pagelen = fields["pagelen"].map { Int($0) } ?? 10
        guard let page, page >= 1, let pagelen, (1...100).contains(pagelen) else {
            return error(400, "Invalid page or pagelen.")
        }
        if case .pat(let record) = caller, !record.pat.canReadCode {
            return .json(403, .object([
                ("type", .string("error")),
                ("error", .object([
                    ("message", .string("Your credentials lack one or more required privilege scopes.")),
                    ("detail", .object([
                        ("granted", .array([.string("account")])),
                        ("required", .array([.string("repository")])),
                    ])),
                ])),
            ]))
        }
        guard let names = repositories[workspace.lowercased()] else {
            return error(404, "No workspace with identifier '\(workspace)'.")
        }
        let all: [JSON] = names.map { entry in
            let (project, name) = Self.splitRepository(entry)
            let slug = name.lowercased().replacingOccurrences(of: " ", with: "-")
            let fullName = workspace + "/" + slug
            return .object([
                ("type", .string("repository")),
                ("full_name", .string(fullName)),
                ("name", .string(name)),
                ("slug", .string(slug)),
                ("uuid", .string("{" + derivedGUID("bitbucket-repo:" + fullName.lowercased()) + "}")),
                ("is_private", .bool(true)),
                ("scm", .string("git")),
                ("workspace", .object([("type", .string("workspace")), ("slug", .string(workspace))])),
                ("project", .object([("type", .string("project")), ("key", .string(project.uppercased())), ("name", .string(project))])),
                ("mainbranch", .object([("type", .string("branch")), ("name", .string("main"))])),
                ("links", .object([
                    ("html", .object([("href", .string("https://bitbucket.org/" + fullName))])),
                    ("clone", .array([
                        .object([("name", .string("https")), ("href", .string("https://bitbucket.org/\(fullName).git"))]),
                        .object([("name", .string("ssh")), ("href", .string("git@bitbucket.org:\(fullName).git"))]),
                    ])),
                ])),
            ])
        }
        let start = min(all.count, (page - 1) * pagelen)
        let end = min(all.count, start + pagelen)
        var body: [(String, JSON)] = [
            ("values", .array(Array(all[start..<end]))),
            ("pagelen", .int(pagelen)),
            ("size", .int(all.count)),
            ("page", .int(page)),
        ]
        if end < all.count, let host = request.header("host") {
            var next = fields
            next["page"] = String(page + 1)
            let query = Form.encode(next.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            body.append(("next", .string("http://\(host)/bitbucket/api/2.0/repositories/\(Form.percentEncode(workspace))?\(query)")))
        }
        return .json(200, .object(body))
    }
}
