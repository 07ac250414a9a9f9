/// Why an OAuth step failed.
///
/// `code` is stable API shown to users and used by the runner to decide what to do next
/// (retry, ask the user to connect again, ask an admin). `message` is plain words for a person.
/// It may quote the SCM's own error description, cleaned (see `OAuthFailure.clean`), and never
/// contains a token, authorization code or secret: messages are built from fixed text, and the
/// only response text they quote is that description, with token-like words redacted.
public struct OAuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: Code
    /// The SCM's own error code, e.g. "invalid_grant" or "bad_verification_code".
    public var scmError: String?
    public var message: String

    public init(code: Code, scmError: String? = nil, message: String) {
        self.code = code
        self.scmError = scmError
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// The user declined at the SCM's consent page.
        public static let accessDenied = Code(rawValue: "access_denied")
        /// The SCM or the organization refuses the OAuth app itself (invalid_scope,
        /// unauthorized_client, Azure DevOps' "Third-party application access via OAuth"
        /// policy): only an administrator can change that.
        public static let oauthAppBlocked = Code(rawValue: "oauth_app_blocked")
        /// The code or refresh token was rejected: expired, already used, or issued for another
        /// redirect URI or PKCE verifier. The user must connect again.
        public static let invalidGrant = Code(rawValue: "invalid_grant")
        /// The client id or secret is wrong: the integration's admin must fix it.
        public static let invalidClient = Code(rawValue: "invalid_client")
        /// The SCM's API refused the access token.
        public static let invalidToken = Code(rawValue: "invalid_token")
        /// Any other error the SCM named.
        public static let scmError = Code(rawValue: "scm_error")
        /// An answer that cannot be understood: not JSON, no access token, a 5xx page.
        public static let unexpectedResponse = Code(rawValue: "unexpected_response")
        /// The SCM could not be reached (the runner's network failures).
        public static let scmUnreachable = Code(rawValue: "scm_unreachable")

        // A bare string on the wire, like the enums elsewhere in the API, not {"rawValue": …}.
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// Maps the `error` (and `error_description`) query parameters of an authorization
    /// callback. Both come from the browser's URL, so whoever sent the user there chose
    /// them: they are cleaned like any SCM text.
    public static func fromAuthorizationCallback(error: String, description: String?) -> OAuthFailure {
        named(error: error, description: description, service: nil)
    }
}

extension OAuthFailure {
    /// The failure for an error the SCM named, with the hints that save an admin a support
    /// ticket. `service` names who answered ("GitHub", "Microsoft Entra ID"); nil when not
    /// known, as for a callback. `secrets` are values from the same response (tokens and the
    /// like) that must not be echoed even if the SCM quoted them in its description.
    static func named(error rawError: String, description rawDescription: String?, service: String?, secrets: [String] = []) -> OAuthFailure {
        let scmError = cleanErrorCode(rawError, secrets: secrets)
        let description = rawDescription.flatMap { clean($0, redacting: secrets) }
        // As the subject of a sentence, and elsewhere in one.
        let scm = service ?? "The SCM"
        let atSCM = service ?? "the SCM"
        let said = description.map { " \(scm) said: \"\($0)\"" } ?? ""
        let fold = rawError.lowercased()
        let raw = rawDescription ?? ""

        let code: Code
        let text: String
        switch fold {
        case "access_denied":
            code = .accessDenied
            text = "Access was declined at \(atSCM): the sign-in was cancelled or consent was not given."
        case "invalid_scope", "unauthorized_client", "application_suspended":
            // application_suspended: GitHub's callback error for an OAuth app an owner suspended.
            code = .oauthAppBlocked
            text = "\(scm) refused this OAuth app or the access it asks for; the organization may forbid OAuth apps. Ask an administrator."
        case "invalid_grant", "bad_verification_code", "bad_refresh_token", "redirect_uri_mismatch":
            code = .invalidGrant
            text = fold == "redirect_uri_mismatch"
                ? "\(scm) refused the request because the redirect URI does not match the one registered for the OAuth app; ask an administrator to check the integration's callback URL."
                : "\(scm) rejected the authorization code or refresh token: it expired, was already used, or does not match the redirect URI or PKCE verifier. Connect again."
        case "invalid_client", "incorrect_client_credentials":
            code = .invalidClient
            if raw.contains("Failed to deserialize the JsonWebToken object") {
                text = "Azure DevOps could not read the client secret: the administrator probably pasted the app's \"App Secret\" instead of its \"Client Secret\". Copy the Client Secret from the app registration into the integration."
            } else if raw.contains("AADSTS7000215") {
                text = "Microsoft Entra ID rejected the client secret: the integration needs the secret's value, not its secret ID. Copy the Value column under Certificates & secrets (shown only when the secret is created) into the integration."
            } else if raw.contains("AADSTS7000222") {
                text = "Microsoft Entra ID rejected the client secret because it has expired: an administrator must create a new one and update the integration."
            } else {
                text = "\(scm) rejected the OAuth app's client ID or secret: an administrator must check the integration's credentials."
            }
        case "invalid_token":
            code = .invalidToken
            text = "\(scm) refused the access token. Connect again."
        default:
            code = .scmError
            // The code is quoted only when it looks like one: in a callback it is whatever the
            // URL said.
            let quoted = scmError.flatMap { isCodeLike($0) ? " (\($0))" : nil } ?? ""
            text = "\(scm) reported an error\(quoted)."
        }
        return OAuthFailure(code: code, scmError: scmError, message: text + said)
    }

    private static func isCodeLike(_ text: String) -> Bool {
        text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
    }

    static func unexpected(_ text: String, scmError: String? = nil) -> OAuthFailure {
        OAuthFailure(code: .unexpectedResponse, scmError: scmError, message: text)
    }

    /// "HTTP 502 (Bad Gateway)" without reading the body.
    static func statusText(_ status: Int) -> String {
        let reason: String? = switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: nil
        }
        return "HTTP \(status)" + (reason.map { " (\($0))" } ?? "")
    }
}
