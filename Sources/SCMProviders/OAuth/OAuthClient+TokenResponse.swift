import Foundation

/// Reading a token endpoint's answer, quirks included.
extension OAuthClient {
    /// - 2xx with a usable `access_token` and no error field: the grant.
    /// - An `error` (or legacy Azure DevOps' `Error`) field, whatever the status — GitHub
    ///   reports errors as HTTP 200: the failure that error maps to.
    /// - 5xx: `unexpected_response` (transient, worth a retry), even with an error field.
    /// - Anything else: `unexpected_response`, naming only the HTTP status.
    public func parseTokenResponse(_ response: SCMHTTPResponse) throws(OAuthFailure) -> OAuthTokenGrant {
        let scm = serviceName
        let fields = Self.tokenResponseFields(response)
        let errorCode = fields?[lenient: "error"]?.string
        // Values of the same answer that must never be echoed, even inside the description.
        let secrets = fields.map(OAuthFailure.sensitiveValues) ?? []

        if response.status >= 500 {
            throw .unexpected(
                "\(scm)'s token endpoint failed with \(OAuthFailure.statusText(response.status)); try again later.",
                scmError: errorCode.flatMap { OAuthFailure.cleanErrorCode($0, secrets: secrets) })
        }
        if let errorCode {
            let description = fields?[lenient: "error_description"]?.string
            throw .named(error: errorCode, description: description, service: scm, secrets: secrets)
        }
        guard response.isSuccess else {
            throw .unexpected("\(scm)'s token endpoint answered \(OAuthFailure.statusText(response.status)) without an OAuth error.")
        }
        guard let fields else {
            throw .unexpected("\(scm)'s token endpoint answered \(OAuthFailure.statusText(response.status)) with a body that is not an OAuth token response.")
        }
        guard let accessToken = fields["access_token"]?.string, Self.isUsableToken(accessToken) else {
            throw .unexpected("\(scm)'s token endpoint answered without a usable access token.")
        }
        var refreshToken: String?
        if let value = fields["refresh_token"]?.string {
            // A token that cannot be sent in a header is as bad as a missing access token:
            // storing it would only fail later, further from the cause.
            guard Self.isUsableToken(value) else {
                throw .unexpected("\(scm)'s token endpoint answered with an unusable refresh token.")
            }
            refreshToken = value
        }
        // A lifetime that is negative or beyond any real token's (68 years) is noise: dropped
        // rather than trusted.
        let expiresIn = fields["expires_in"]?.integer.flatMap { $0 >= 0 && $0 <= Int64(Int32.max) ? Int($0) : nil }
        return OAuthTokenGrant(
            accessToken: accessToken,
            refreshToken: refreshToken,
            expiresIn: expiresIn,
            scopes: grantedScopes(fields),
            tokenType: fields["token_type"]?.string)
    }

    /// GitHub separates scopes with commas, the others with spaces; Bitbucket names the field
    /// `scopes`. Each spelling is tried in that provider's order, then the other.
    private func grantedScopes(_ fields: JSONValue) -> [String] {
        let keys = dialect == .bitbucket ? ["scopes", "scope"] : ["scope", "scopes"]
        guard let value = keys.lazy.compactMap({ fields[$0] }).first else { return [] }
        let separators: Set<Character> = dialect == .github ? [",", " "] : [" "]
        let text: String
        switch value {
        case .string(let string): text = string
        case .array(let items): return items.compactMap(\.string)
        default: return []
        }
        return text.split(whereSeparator: { separators.contains($0) || $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    /// The body as named fields: JSON, or a form body (GitHub's answer when the Accept header
    /// is lost on the way, e.g. by a proxy).
    static func tokenResponseFields(_ response: SCMHTTPResponse) -> JSONValue? {
        if let json = JSONValue.parse(response.body) {
            return json.object == nil ? nil : json
        }
        guard response.header("Content-Type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true,
              response.body.count <= JSONValue.maximumBodySize,
              let text = String(data: Data(response.body), encoding: .utf8),
              let pairs = FormEncoding.decode(text), !pairs.isEmpty
        else { return nil }
        var object: [String: JSONValue] = [:]
        for (name, value) in pairs where object[name] == nil { object[name] = .string(value) }
        return .object(object)
    }

    /// Visible ASCII only: anything else cannot travel in an Authorization header and would
    /// allow header injection if it did.
    static func isUsableToken(_ token: String) -> Bool {
        TokenShape.tokenProblem(token, maximumBytes: Int.max) == nil
    }
}
