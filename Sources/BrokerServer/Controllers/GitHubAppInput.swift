import BrokerCore
import BrokerCrypto
import Foundation
import SCMProviders

/// A GitHub App installation as an admin sent it. `privateKey` is plaintext only until it is
/// sealed (with the API URL it may be used at) to the runner's key.
struct GitHubAppInput {
    var appID: String
    var installationID: String
    var privateKey: String?

    static let fields: Set<String> = ["app_id", "installation_id", "private_key"]

    static let privateKeyRequired = APIError(
        .badRequest, code: .privateKeyRequired,
        "changing `api_url` needs `github_app.private_key` again: the key is sealed together with the only API the runner may use it at")

    static func parse(_ reader: JSONObjectReader, organization: OrganizationURL, existing: GitHubApp?) throws(APIError) -> GitHubAppInput {
        try reader.allowOnly(fields)
        guard organization.provider == .github else { throw .invalidRequest("`github_app` applies to github integrations only") }
        // Installation tokens name repositories without their owner: the integration must be
        // the installation's account, so that a repository elsewhere never matches it.
        guard !organization.path.isEmpty else {
            throw .invalidRequest("a GitHub App integration's `url` names the account the app is installed on: https://github.com/{owner}")
        }
        guard let appID = try reader.string("app_id") ?? existing?.appID else { throw .invalidRequest("missing field `github_app.app_id`") }
        guard let installationID = try reader.string("installation_id") ?? existing?.installationID else {
            throw .invalidRequest("missing field `github_app.installation_id`")
        }
        for (field, value) in [("app_id", appID), ("installation_id", installationID)] {
            guard (1...20).contains(value.count), value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber) else {
                throw .invalidRequest("`github_app.\(field)` must be GitHub's numeric id, as a string")
            }
        }
        let privateKey = try reader.string("private_key")
        if let privateKey {
            // The key itself is checked by the runner, the only place it is ever opened.
            guard (64...16_384).contains(privateKey.utf8.count), privateKey.unicodeScalars.allSatisfy({ $0.isASCII }),
                  Self.isPrivateKeyPEM(privateKey)
            else {
                throw .invalidRequest("`github_app.private_key` must be the app's private key as GitHub downloads it (a PEM file)")
            }
        } else if existing == nil {
            throw .invalidRequest("missing field `github_app.private_key`")
        }
        return GitHubAppInput(appID: appID, installationID: installationID, privateKey: privateKey)
    }

    /// Whether `text` is shaped like a PEM private key: its first line is a PEM begin line naming a private key
    /// (GitHub issues PKCS#1 RSA keys; PKCS#8 works too).
    static func isPrivateKeyPEM(_ text: String) -> Bool {
        guard let firstLine = text.split(whereSeparator: \.isNewline).first, firstLine.hasPrefix("-----BEGIN "), firstLine.hasSuffix("-----")
        else { return false }
        return firstLine.contains("PRIVATE KEY")
    }

    /// Seals a new private key, bound to `apiURL`, or keeps the existing sealed one while the API stays the same.
    func sealed(existing: GitHubApp?, runner: Runner, now: Date, apiURL: String, previousAPIURL: String? = nil) throws -> GitHubApp {
        let sealedKey: SealedSecret
        if let privateKey {
            guard let jwk = runner.encryptionKey?.jwk else { throw APIError.internalError }
            let key = try RSAPublicKey(jwk: try JWK(jsonString: jwk))
            let bound = BoundGitHubAppKey(privateKey: privateKey, apiURL: apiURL)
            sealedKey = SealedSecret(jwe: try JWE.seal(try bound.json(), to: key), keyID: key.keyID, updatedAt: now)
        } else if let existing {
            guard previousAPIURL == nil || previousAPIURL == apiURL else { throw Self.privateKeyRequired }
            sealedKey = existing.privateKey
        } else {
            throw APIError.invalidRequest("missing field `github_app.private_key`")
        }
        return GitHubApp(appID: appID, installationID: installationID, privateKey: sealedKey)
    }
}
