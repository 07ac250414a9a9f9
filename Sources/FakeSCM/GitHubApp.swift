import Foundation
import JWTKit

// GitHub App installation tokens: `POST /github/api/app/installations/{id}/access_tokens`,
// authenticated by an RS256 app JWT (iss = app id, at most 10 minutes long), restricted to
// repositories of the installation and to `contents: read|write`. Tokens reach git only for
// the repositories and permission asked for, and expire after an hour.

extension FakeSCM {
    /// An installed GitHub App: its id, public key (PEM, verifying app JWTs), installation id,
    /// the owner it is installed on and the repositories (names) the installation covers.
    public struct GitHubAppInstallation: Sendable {
        public var appID: String
        public var publicKeyPEM: String
        public var installationID: String
        public var owner: String
        public var repositories: [String]

        public init(appID: String, publicKeyPEM: String, installationID: String, owner: String, repositories: [String]) {
            self.appID = appID
            self.publicKeyPEM = publicKeyPEM
            self.installationID = installationID
            self.owner = owner
            self.repositories = repositories
        }
    }

    public func registerGitHubApp(_ installation: GitHubAppInstallation) {
        engine.state.withLock { $0.githubApps[installation.installationID] = installation }
    }

    /// Installation tokens minted so far.
    public var installationTokensIssued: Int {
        engine.state.withLock { $0.installationTokensIssued }
    }
}

struct GitHubAppClaims: JWTPayload {
    var iss: IssuerClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

extension Engine {
    static func isGitHubAppTokenPath(_ segments: [String]) -> Bool {
        segments.count == 6 && Array(segments.prefix(4)) == ["github", "api", "app", "installations"] && segments[5] == "access_tokens"
    }

    /// The JWT check is asynchronous (JWTKit), so it runs outside the state lock; minting runs under it.
    func githubAppAccessToken(_ request: FakeRequest) async -> FakeResponse {
        guard request.method == "POST" else { return .methodNotAllowed("POST") }
        let installationID = request.segments[4]
        let message = { (status: Int, text: String) in
            FakeResponse.json(status, .object([("message", .string(text)), ("documentation_url", .string("https://docs.github.com/rest"))]))
        }
        guard let installation = state.withLock({ $0.githubApps[installationID] }) else { return message(404, "Not Found") }
        guard let (scheme, jwt) = request.authorization, scheme == "bearer" else {
            return message(401, "A JSON web token could not be decoded")
        }
        let keys = JWTKeyCollection()
        guard let publicKey = try? Insecure.RSA.PublicKey(pem: installation.publicKeyPEM) else { return message(500, "bad fake setup") }
        await keys.add(rsa: publicKey, digestAlgorithm: .sha256)
        guard let claims = try? await keys.verify(jwt, as: GitHubAppClaims.self) else {
            return message(401, "A JSON web token could not be decoded")
        }
        let now = state.withLock { $0.now }
        guard claims.iss.value == installation.appID else { return message(401, "'Issuer' claim ('iss') must be an Integer") }
        guard claims.exp.value > now, claims.iat.value <= now.addingTimeInterval(60) else {
            return message(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
        }
        guard claims.exp.value.timeIntervalSince(claims.iat.value) <= 600 else {
            return message(401, "'Expiration time' claim ('exp') is too far in the future")
        }
        // Body: {"repositories":[names],"permissions":{"contents":"read"|"write"}}, nothing else.
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
              Set(body.keys).isSubset(of: ["repositories", "permissions"]),
              let repositories = body["repositories"] as? [String], !repositories.isEmpty,
              let permissions = body["permissions"] as? [String: String], permissions.count == 1,
              let contents = permissions["contents"], contents == "read" || contents == "write"
        else { return message(422, "Invalid request: repositories and a contents permission are required by this fake") }
        let covered = Set(installation.repositories.map { $0.lowercased() })
        guard repositories.allSatisfy({ covered.contains($0.lowercased()) }) else {
            return message(422, "There is at least one repository that does not exist or is not accessible to the parent installation.")
        }
        let access: FakeSCM.GitAccess = contents == "write" ? .write : .read
        return state.withLock { state in
            let token = "ghs_" + Random.hex(bytes: 18)
            let expiresAt = state.now.addingTimeInterval(3600)
            for name in repositories {
                state.gitGrants[token, default: [:]][GitRepoKey(.github, [installation.owner, name])] = access
            }
            state.gitGrantExpiry[token] = expiresAt
            state.installationTokensIssued += 1
            return .json(201, .object([
                ("token", .string(token)),
                ("expires_at", .string(ISO8601DateFormatter().string(from: expiresAt))),
                ("permissions", .object([("contents", .string(contents))])),
                ("repository_selection", .string("selected")),
            ]))
        }
    }
}
