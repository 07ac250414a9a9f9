import Foundation

/// GitHub App installation tokens: `POST {api}/app/installations/{id}/access_tokens` with an
/// app JWT, restricted to one repository and `contents: read|write`. GitHub enforces the scope
/// itself, so a leaked token reaches nothing else. Pure: builds the request, reads the answer.
public struct GitHubAppInstallation: Sendable, Equatable {
    public var apiURL: String
    public var installationID: String

    public init(apiURL: String, installationID: String) {
        var url = apiURL
        while url.hasSuffix("/") { url.removeLast() }
        self.apiURL = url
        self.installationID = installationID
    }

    /// A token GitHub minted; it lasts an hour. Tokens may be long (~520 characters): no length is assumed.
    public struct Token: Sendable, Equatable {
        public var token: String
        public var expiresAt: Date?
    }

    public func accessTokenRequest(appJWT: String, repository: String, access: RepositoryAccess) -> SCMHTTPRequest {
        let body = #"{"permissions":{"contents":"\#(access.rawValue)"},"repositories":[\#(Self.jsonString(repository))]}"#
        return SCMHTTPRequest(
            method: "POST",
            url: "\(apiURL)/app/installations/\(FormEncoding.percentEncode(installationID))/access_tokens",
            headers: [
                SCMHTTPHeader(name: "Accept", value: "application/vnd.github+json"),
                SCMHTTPHeader(name: "Authorization", value: "Bearer \(appJWT)"),
                SCMHTTPHeader(name: "Content-Type", value: "application/json"),
                SCMHTTPHeader(name: "User-Agent", value: SCMHTTPRequest.userAgent),
                SCMHTTPHeader(name: "X-GitHub-Api-Version", value: "2022-11-28"),
            ],
            body: Array(body.utf8))
    }

    public func parseAccessToken(_ response: SCMHTTPResponse) throws(GitHubAppFailure) -> Token {
        let fields = JSONValue.parse(response.body)
        guard response.status == 201 || response.status == 200 else {
            let message = fields?["message"]?.string.flatMap { OAuthFailure.clean($0) } ?? "HTTP \(response.status)"
            switch response.status {
            case 401: throw GitHubAppFailure(.appRejected, "GitHub refused the app's credentials (\(message)); check the app id and private key")
            case 403, 404, 422:
                throw GitHubAppFailure(.repositoryNotInstalled,
                                       "GitHub refused a token for this repository (\(message)); is the app installed on it with Contents permission?")
            default: throw GitHubAppFailure(.scmError, "GitHub failed to mint a token (\(message))")
            }
        }
        guard let token = fields?["token"]?.string, OAuthClient.isUsableToken(token) else {
            throw GitHubAppFailure(.scmError, "GitHub's answer carries no token")
        }
        let expiresAt = fields?["expires_at"]?.string.flatMap { ISO8601DateFormatter().date(from: $0) }
        return Token(token: token, expiresAt: expiresAt)
    }

    static func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// Why minting an installation token failed.
public struct GitHubAppFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case appRejected = "github_app_rejected"
        case repositoryNotInstalled = "github_app_not_installed"
        case scmError = "scm_error"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
