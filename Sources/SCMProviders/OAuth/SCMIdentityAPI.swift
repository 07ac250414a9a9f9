import Foundation

/// "Who am I" at each SCM: the first API call made with a new token, which both identifies
/// the user and proves the token works (Azure DevOps' org policy against OAuth apps only shows
/// up here: the token is issued, then refused).
public enum SCMIdentityAPI {
    /// Where the runner calls the SCM's REST API when the admin did not override it.
    /// - Azure DevOps: the organization URL (cloud) or collection URL (Server).
    /// - GitHub: `https://api.github.com`, or `{origin}/api/v3` on GitHub Enterprise Server.
    /// - GitLab: `{origin}/api/v4` (an instance under a relative URL root needs an override).
    /// - Bitbucket Cloud: `https://api.bitbucket.org/2.0`.
    public static func defaultAPIURL(for organization: OrganizationURL) -> String {
        switch organization.provider {
        case .azureDevOps: organization.string
        case .github: organization.deployment == .cloud ? "https://api.github.com" : organization.origin + "/api/v3"
        case .gitlab: organization.origin + "/api/v4"
        case .bitbucket: "https://api.bitbucket.org/2.0"
        }
    }

    /// The identity request for `provider` at `apiURL`.
    /// - Azure DevOps: `GET {api}/_apis/connectionData` with `X-TFS-FedAuthRedirect: Suppress`,
    ///   without which a refused token gets a 203 sign-in page instead of a 401.
    /// - GitHub: `GET {api}/user`, with GitHub's media type and API version.
    /// - GitLab, Bitbucket: `GET {api}/user`.
    public static func whoAmIRequest(provider: SCMProvider, apiURL: String, accessToken: String) -> SCMHTTPRequest {
        var base = Substring(apiURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        let authorization = SCMHTTPHeader(name: "Authorization", value: "Bearer \(accessToken)")
        let userAgent = SCMHTTPHeader(name: "User-Agent", value: SCMHTTPRequest.userAgent)
        switch provider {
        case .azureDevOps:
            return SCMHTTPRequest(method: "GET", url: base + "/_apis/connectionData", headers: [
                authorization,
                SCMHTTPHeader(name: "Accept", value: "application/json"),
                SCMHTTPHeader(name: "X-TFS-FedAuthRedirect", value: "Suppress"),
                userAgent,
            ])
        case .github:
            return SCMHTTPRequest(method: "GET", url: base + "/user", headers: [
                authorization,
                SCMHTTPHeader(name: "Accept", value: "application/vnd.github+json"),
                SCMHTTPHeader(name: "X-GitHub-Api-Version", value: "2022-11-28"),
                userAgent,
            ])
        case .gitlab, .bitbucket:
            return SCMHTTPRequest(method: "GET", url: base + "/user", headers: [
                authorization,
                SCMHTTPHeader(name: "Accept", value: "application/json"),
                userAgent,
            ])
        }
    }

    /// Reads the identity, or says why the token was refused.
    /// - Azure DevOps: 401/403 mentioning TF400813 → `oauth_app_blocked` (the organization's
    ///   "Third-party application access via OAuth" policy); 203 or HTML → `invalid_token`.
    /// - 401, or an RFC 6750 `invalid_token` error → `invalid_token`.
    /// - 403 or 429 with rate-limit signs → `scm_error` (not the token's fault; retry later).
    /// - Other 4xx → the error the body names, else `scm_error`; 5xx or an unreadable
    ///   2xx → `unexpected_response`.
    public static func parseWhoAmI(provider: SCMProvider, _ response: SCMHTTPResponse) throws(OAuthFailure) -> SCMIdentity {
        let scm = provider.displayName
        let status = OAuthFailure.statusText(response.status)
        if provider == .azureDevOps {
            if response.status == 401 || response.status == 403, mentionsTF400813(response) {
                throw OAuthFailure(
                    code: .oauthAppBlocked, scmError: "TF400813",
                    message: "The Azure DevOps organization's policy \"Third-party application access via OAuth\" blocks this app (the policy is off): the token was issued but Azure DevOps refuses it. Ask an Azure DevOps organization administrator to turn the policy on (Organization settings → Policies).")
            }
            // Azure DevOps answers a refused credential with a sign-in page when it can.
            if response.status == 203 || (response.isSuccess && response.looksLikeHTML) {
                throw OAuthFailure(code: .invalidToken, message: "Azure DevOps refused the access token (it answered with a sign-in page). Connect again.")
            }
        }
        if response.status >= 500 {
            throw .unexpected("\(scm)'s API failed with \(status); try again later.")
        }
        if isRateLimited(response) {
            throw OAuthFailure(code: .scmError, message: "\(scm)'s API rate limit was reached (\(status)); try again later.")
        }
        let json = JSONValue.parse(response.body)
        let secrets = json.map(OAuthFailure.sensitiveValues) ?? []
        if !response.isSuccess {
            if let error = json?[lenient: "error"]?.string {
                throw .named(error: error, description: json?[lenient: "error_description"]?.string, service: scm, secrets: secrets)
            }
            if response.status == 401 {
                throw OAuthFailure(code: .invalidToken, message: "\(scm) refused the access token (\(status)). Connect again.")
            }
            let hint = response.status == 404 ? ": check the integration's API URL" : ""
            throw OAuthFailure(code: .scmError, message: "\(scm)'s API answered \(status)\(hint).")
        }
        guard let json, json.object != nil, let identity = identity(provider: provider, json) else {
            throw .unexpected("\(scm)'s API answered \(status) without a readable user.")
        }
        return identity
    }

    static func identity(provider: SCMProvider, _ json: JSONValue) -> SCMIdentity? {
        let id: String?
        let username: String?
        let displayName: String?
        switch provider {
        case .azureDevOps:
            guard let user = json["authenticatedUser"] else { return nil }
            // connectionData answers an anonymous caller with the unauthenticated identity.
            if user["descriptor"]?.string?.hasPrefix("Microsoft.TeamFoundation.UnauthenticatedIdentity") == true { return nil }
            id = user["id"]?.identifier
            displayName = user["providerDisplayName"]?.string
            username = user["properties"]?["Account"]?["$value"]?.string ?? displayName
        case .github:
            id = json["id"]?.identifier
            username = json["login"]?.string
            displayName = json["name"]?.string
        case .gitlab:
            id = json["id"]?.identifier
            username = json["username"]?.string
            displayName = json["name"]?.string
        case .bitbucket:
            // Bitbucket dropped `username` from most answers (GDPR); `nickname` replaced it.
            id = json["account_id"]?.identifier ?? json["uuid"]?.identifier
            username = json["username"]?.string ?? json["nickname"]?.string
            displayName = json["display_name"]?.string
        }
        guard let id, let username, !hasControlCharacters(id), !hasControlCharacters(username) else { return nil }
        return SCMIdentity(id: id, username: username, displayName: displayName.flatMap { OAuthFailure.clean($0) })
    }

    /// TF400813 in the body or in Azure DevOps' `X-TFS-ServiceError` header (percent-encoded).
    private static func mentionsTF400813(_ response: SCMHTTPResponse) -> Bool {
        let marker = Array("TF400813".utf8)
        if response.header("X-TFS-ServiceError")?.contains("TF400813") == true { return true }
        guard response.body.count >= marker.count else { return false }
        return (0...(response.body.count - marker.count)).contains { start in
            response.body[start..<(start + marker.count)].elementsEqual(marker)
        }
    }

    /// GitHub answers an exhausted rate limit with 403 (or 429) and `x-ratelimit-remaining: 0`
    /// or `retry-after`; that says nothing about the token.
    static func isRateLimited(_ response: SCMHTTPResponse) -> Bool {
        guard response.status == 403 || response.status == 429 else { return false }
        return response.status == 429 || response.header("Retry-After") != nil
            || response.header("X-RateLimit-Remaining")?.trimmingCharacters(in: .whitespaces) == "0"
    }

    private static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
