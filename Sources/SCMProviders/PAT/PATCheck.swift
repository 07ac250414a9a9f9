import Foundation

/// Why a PAT was refused. Codes are stable API, shown to users and admins.
public struct PATFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The SCM does not accept the token at all (401, or Azure DevOps' 203 sign-in page).
        public static let invalidCredentials = Code(rawValue: "invalid_credentials")
        /// The token works but lacks the scope needed to read code.
        public static let invalidPermissions = Code(rawValue: "invalid_permissions")
        /// The organization or collection does not exist (or the token cannot see it at all).
        public static let organizationNotFound = Code(rawValue: "organization_not_found")
        /// The token works but sees no repository.
        public static let noResources = Code(rawValue: "no_resources")
        /// The SCM could not be reached, failed, or kept rate-limiting, after bounded retries.
        public static let scmUnreachable = Code(rawValue: "scm_unreachable")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// What a valid PAT told about itself.
public struct PATValidation: Sendable, Equatable {
    public var identity: SCMIdentity
    public var scopes: [String]
    public var expiresAt: Date?

    public init(identity: SCMIdentity, scopes: [String], expiresAt: Date?) {
        self.identity = identity
        self.scopes = scopes
        self.expiresAt = expiresAt
    }
}

/// How to check a PAT at each provider: a short sequence of API calls, built and read without
/// I/O. The runner sends each request (retrying transient answers) and feeds the responses in.
///
/// - Azure DevOps: `connectionData` (identity; `X-TFS-FedAuthRedirect: Suppress` so a refused
///   credential is a 401, and a 203 or HTML is treated as refused anyway), then the Code probe
///   `git/repositories?api-version=7.1`. Basic auth with a non-empty username.
/// - GitHub: `GET /user`; classic tokens list their scopes in `X-OAuth-Scopes` (`repo` needed),
///   expiry in `GitHub-Authentication-Token-Expiration`.
/// - GitLab: `GET /personal_access_tokens/self` (scopes, expiry, revoked), then `GET /user` for
///   the username when the scopes allow it.
/// - Bitbucket: `GET /user` with Basic `username:token`.
public struct PATCheck: Sendable {
    public enum Step: Sendable, Equatable {
        case identity
        case capability
    }

    public let provider: SCMProvider
    public let apiURL: String
    public let token: String
    public let username: String?

    public init(provider: SCMProvider, apiURL: String, token: String, username: String?) {
        var base = Substring(apiURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        self.provider = provider
        self.apiURL = String(base)
        self.token = token
        self.username = username
    }

    /// The Basic credentials the checks send (`username:token`, base64): git and Azure DevOps
    /// need a non-empty username, and any will do with a PAT.
    public var basicCredentials: String {
        let user = username?.isEmpty == false ? username! : "scm-broker"
        return Data("\(user):\(token)".utf8).base64EncodedString()
    }

    /// The request for `step`; nil when the provider needs no such step.
    public func request(_ step: Step) -> SCMHTTPRequest? {
        switch (provider, step) {
        case (.azureDevOps, .identity):
            return get("/_apis/connectionData", basic: true, extra: [SCMHTTPHeader(name: "X-TFS-FedAuthRedirect", value: "Suppress")])
        case (.azureDevOps, .capability):
            return get("/_apis/git/repositories?api-version=7.1", basic: true,
                       extra: [SCMHTTPHeader(name: "X-TFS-FedAuthRedirect", value: "Suppress")])
        case (.github, .identity):
            return get("/user", authorization: "token \(token)", extra: [
                SCMHTTPHeader(name: "Accept", value: "application/vnd.github+json"),
                SCMHTTPHeader(name: "X-GitHub-Api-Version", value: "2022-11-28"),
            ])
        case (.gitlab, .identity):
            return get("/personal_access_tokens/self", authorization: nil, extra: [SCMHTTPHeader(name: "PRIVATE-TOKEN", value: token)])
        case (.gitlab, .capability):
            return get("/user", authorization: nil, extra: [SCMHTTPHeader(name: "PRIVATE-TOKEN", value: token)])
        case (.bitbucket, .identity):
            return get("/user", basic: true)
        case (.github, .capability), (.bitbucket, .capability):
            return nil
        }
    }

    /// Whether an answer is worth retrying (rate limit, 5xx) rather than a verdict, and after
    /// how long the SCM asked to wait.
    public static func retryDelay(_ response: SCMHTTPResponse) -> TimeInterval? {
        if SCMIdentityAPI.isRateLimited(response) || response.status >= 500 {
            // RFC 9110: a whole number of seconds (an HTTP-date counts as "soon"). Anything else,
            // NaN and infinities included, is ignored.
            let retryAfter = response.header("Retry-After").flatMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
            return retryAfter.map { TimeInterval(min($0, 86_400)) } ?? 1
        }
        return nil
    }

    /// Reads the identity step. GitLab's identity is completed by the capability step.
    public func readIdentity(_ response: SCMHTTPResponse) throws(PATFailure) -> PATValidation {
        let scm = provider.displayName
        if provider == .azureDevOps, response.status == 203 || (response.isSuccess && response.looksLikeHTML) {
            throw PATFailure(.invalidCredentials, "Azure DevOps did not accept the token (it answered with a sign-in page). Check that you copied the whole token and that it has not expired.")
        }
        switch response.status {
        case 401:
            throw PATFailure(.invalidCredentials, "\(scm) did not accept the token (401). Check that you copied the whole token\(provider == .bitbucket ? " and your username" : "") and that it has not expired or been revoked.")
        case 403:
            throw PATFailure(.invalidPermissions, "\(scm) accepted the token but refused access (403): it lacks a scope.")
        case 404:
            if provider == .azureDevOps {
                throw PATFailure(.organizationNotFound, "Azure DevOps has no organization or collection at \(apiURL), or this token cannot see it.")
            }
            throw PATFailure(.scmUnreachable, "\(scm)'s API answered 404 at \(apiURL): check the integration's API URL.")
        default:
            break
        }
        guard response.isSuccess, let json = JSONValue.parse(response.body), json.object != nil else {
            throw PATFailure(.scmUnreachable, "\(scm)'s API answered HTTP \(response.status) without a readable answer.")
        }
        switch provider {
        case .gitlab:
            if json["revoked"]?.boolValue == true || json["active"]?.boolValue == false {
                throw PATFailure(.invalidCredentials, "GitLab says the token is revoked or expired.")
            }
            let scopes = json["scopes"]?.arrayValue?.compactMap(\.string) ?? []
            guard !Set(scopes).isDisjoint(with: ["read_repository", "write_repository", "api"]) else {
                throw PATFailure(.invalidPermissions, "The GitLab token has the scopes \(scopes.joined(separator: ", ")); it needs read_repository (and write_repository to push).")
            }
            let userID = json["user_id"]?.identifier ?? "unknown"
            let expiresAt = json["expires_at"]?.string.flatMap(Self.gitLabDate)
            return PATValidation(identity: SCMIdentity(id: userID, username: "user-\(userID)"), scopes: scopes, expiresAt: expiresAt)
        case .github:
            guard let identity = SCMIdentityAPI.identity(provider: .github, json) else {
                throw PATFailure(.scmUnreachable, "GitHub's API answered without a readable user.")
            }
            // Classic tokens list their scopes; fine-grained ones do not (their permissions are per repository).
            let scopes = response.header("X-OAuth-Scopes").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            if let scopes, !scopes.contains("repo") {
                throw PATFailure(.invalidPermissions, "The GitHub token has the scopes \(scopes.isEmpty ? "(none)" : scopes.joined(separator: ", ")); it needs repo.")
            }
            let expiresAt = response.header("GitHub-Authentication-Token-Expiration").flatMap(Self.gitHubDate)
            return PATValidation(identity: identity, scopes: scopes ?? [], expiresAt: expiresAt)
        case .azureDevOps, .bitbucket:
            guard let identity = SCMIdentityAPI.identity(provider: provider, json) else {
                throw PATFailure(.invalidCredentials, "\(scm) answered without a signed-in user: the token was not accepted.")
            }
            return PATValidation(identity: identity, scopes: [], expiresAt: nil)
        }
    }

    /// Reads the capability step into `validation`.
    public func readCapability(_ response: SCMHTTPResponse, into validation: PATValidation) throws(PATFailure) -> PATValidation {
        switch provider {
        case .azureDevOps:
            if response.status == 401 || response.status == 403 || response.status == 203 || (response.isSuccess && response.looksLikeHTML) {
                throw PATFailure(.invalidPermissions, "The token signs in to Azure DevOps but cannot read code: give it the scope Code (Read & write).")
            }
            if response.status == 404 {
                throw PATFailure(.organizationNotFound, "Azure DevOps has no organization or collection at \(apiURL).")
            }
            guard response.isSuccess, let json = JSONValue.parse(response.body) else {
                throw PATFailure(.scmUnreachable, "Azure DevOps answered HTTP \(response.status) to the repository list.")
            }
            let count = json["count"]?.integer ?? Int64(json["value"]?.arrayValue?.count ?? 0)
            guard count > 0 else {
                throw PATFailure(.noResources, "The token works but sees no repository in \(apiURL). Check the organization and the projects the token's user can access.")
            }
            return validation
        case .gitlab:
            // /user needs read_user, read_api or api; without them the id is all we know.
            guard response.isSuccess, let json = JSONValue.parse(response.body), let identity = SCMIdentityAPI.identity(provider: .gitlab, json) else {
                return validation
            }
            var completed = validation
            completed.identity = identity
            return completed
        case .github, .bitbucket:
            return validation
        }
    }

    /// Whether the capability step applies to this validation (GitLab's /user only when the scopes allow it).
    public func needsCapabilityStep(after validation: PATValidation) -> Bool {
        switch provider {
        case .azureDevOps: true
        case .gitlab: !Set(validation.scopes).isDisjoint(with: ["read_user", "read_api", "api"])
        case .github, .bitbucket: false
        }
    }

    private func get(_ path: String, basic: Bool = false, authorization: String? = nil, extra: [SCMHTTPHeader] = []) -> SCMHTTPRequest {
        var headers: [SCMHTTPHeader] = []
        if basic {
            headers.append(SCMHTTPHeader(name: "Authorization", value: "Basic " + basicCredentials))
        } else if let authorization {
            headers.append(SCMHTTPHeader(name: "Authorization", value: authorization))
        }
        if !extra.contains(where: { $0.name == "Accept" }) { headers.append(SCMHTTPHeader(name: "Accept", value: "application/json")) }
        headers += extra
        headers.append(SCMHTTPHeader(name: "User-Agent", value: SCMHTTPRequest.userAgent))
        return SCMHTTPRequest(method: "GET", url: apiURL + path, headers: headers)
    }

    /// GitLab's `expires_at`: a date.
    static func gitLabDate(_ text: String) -> Date? { utcDate(text, format: "yyyy-MM-dd") }

    /// GitHub's `GitHub-Authentication-Token-Expiration` header.
    static func gitHubDate(_ text: String) -> Date? { utcDate(text, format: "yyyy-MM-dd HH:mm:ss 'UTC'") }

    private static func utcDate(_ text: String, format: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter.date(from: text)
    }
}

extension JSONValue {
    var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    var arrayValue: [JSONValue]? {
        if case .array(let values) = self { values } else { nil }
    }
}
