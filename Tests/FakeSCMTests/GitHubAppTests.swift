import AsyncHTTPClient
import FakeSCM
import Foundation
import JWTKit
import NIOCore
import Testing

/// The fake's GitHub App installation tokens are as strict as GitHub: a valid RS256 app JWT,
/// repositories of the installation, a contents permission; the token reaches git for those
/// repositories at that access level only.
@Suite("Fake SCM: GitHub App installation tokens")
struct GitHubAppTests {
    struct AppClaims: JWTPayload {
        var iss: IssuerClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func key() throws -> Insecure.RSA.PrivateKey {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gh-app-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl", "genrsa", "-traditional", "-out", directory + "/key.pem", "2048"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return try Insecure.RSA.PrivateKey(pem: try String(contentsOfFile: directory + "/key.pem", encoding: .utf8))
    }

    static func jwt(_ key: Insecure.RSA.PrivateKey, appID: String = "42", issuedAt: Date = Date(), lifetime: TimeInterval = 540) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(rsa: key, digestAlgorithm: .sha256)
        return try await keys.sign(AppClaims(iss: .init(value: appID), iat: .init(value: issuedAt), exp: .init(value: issuedAt.addingTimeInterval(lifetime))))
    }

    func mint(_ fake: FakeSCM, jwt: String, body: String) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: fake.apiURL(.github) + "/app/installations/777/access_tokens")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(jwt)")
        request.headers.add(name: "Accept", value: "application/vnd.github+json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: bytes))
    }

    @Test func tokensAreMintedOnlyForAValidAppJWTAndInstalledRepositories() async throws {
        let fake = try await FakeSCM.start()
        let key = try Self.key()
        let publicPEM = try key.publicKey.pemRepresentation
        fake.registerGitHubApp(.init(appID: "42", publicKeyPEM: publicPEM, installationID: "777", owner: "contoso", repositories: ["app"]))
        let body = #"{"repositories":["app"],"permissions":{"contents":"read"}}"#

        let minted = try await mint(fake, jwt: try await Self.jwt(key), body: body)
        #expect(minted.status == 201, "\(minted.body)")
        #expect((minted.json["token"] as? String)?.hasPrefix("ghs_") == true)
        #expect(minted.json["expires_at"] as? String != nil)

        let otherKey = try Self.key()
        #expect(try await mint(fake, jwt: try await Self.jwt(otherKey), body: body).status == 401, "signed by another key")
        #expect(try await mint(fake, jwt: try await Self.jwt(key, appID: "43"), body: body).status == 401, "another app id")
        #expect(try await mint(fake, jwt: try await Self.jwt(key, lifetime: 900), body: body).status == 401, "longer than 10 minutes")
        #expect(try await mint(fake, jwt: try await Self.jwt(key, issuedAt: Date().addingTimeInterval(-1200)), body: body).status == 401, "expired")
        #expect(try await mint(fake, jwt: "not.a.jwt", body: body).status == 401)
        #expect(try await mint(fake, jwt: try await Self.jwt(key), body: #"{"repositories":["other"],"permissions":{"contents":"read"}}"#).status == 422)
        #expect(try await mint(fake, jwt: try await Self.jwt(key), body: #"{"repositories":["app"],"permissions":{"contents":"admin"}}"#).status == 422)
        #expect(try await mint(fake, jwt: try await Self.jwt(key), body: #"{"repositories":["app"],"permissions":{"contents":"read","issues":"write"}}"#).status == 422)
        #expect(try await mint(fake, jwt: try await Self.jwt(key), body: #"{"permissions":{"contents":"read"}}"#).status == 422)
        #expect(fake.installationTokensIssued == 1)
        await fake.stop()
    }
}
