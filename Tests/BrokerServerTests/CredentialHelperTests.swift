import AsyncHTTPClient
import BrokerProtocol
import Foundation
import RunnerAgent
import Testing

/// The credential helper's own refusals (before it asks the runner) and environment tokens.
@Suite("Credential helper and environment tokens")
struct CredentialHelperTests {
    static let get = "protocol=https\nhost=dev.azure.com\npath=contoso/web/_git/portal\n"

    @Test func theHelperRefusesWithoutPathTokenOrRunner() async throws {
        let environment = [CredentialHelper.tokenVariable: "token", CredentialHelper.socketVariable: "/tmp/scm-runner-missing-\(UUID().uuidString.prefix(6)).sock"]
        let noPath = await CredentialHelper.run(operation: "get", input: "protocol=https\nhost=dev.azure.com\n", environment: environment, httpClient: .shared)
        #expect(noPath.stdout.isEmpty)
        #expect(noPath.stderr?.contains("credential.useHttpPath true") == true)
        let noToken = await CredentialHelper.run(operation: "get", input: Self.get, environment: [:], httpClient: .shared)
        #expect(noToken.stdout.isEmpty)
        #expect(noToken.stderr?.contains(CredentialHelper.tokenVariable) == true)
        let noRunner = await CredentialHelper.run(operation: "get", input: Self.get, environment: environment, httpClient: .shared)
        #expect(noRunner.stdout.isEmpty)
        #expect(noRunner.stderr?.contains("cannot reach the runner") == true)
        for operation in ["store", "erase"] {
            let output = await CredentialHelper.run(operation: operation, input: Self.get + "username=u\npassword=p\n", environment: environment, httpClient: .shared)
            #expect(output.stdout.isEmpty && output.stderr == nil, "nothing is stored or erased: every get is fresh")
        }
    }

    @Test func valuesThatWouldInjectLinesAreNeverPassedToGit() {
        for value in ["token\r\nusername=evil", "a\nb", "a\rb", "a\u{0}b", "a\u{7F}", "", "tab\there"] {
            #expect(!CredentialHelper.safeValue(value), "\(value.debugDescription)")
        }
        #expect(CredentialHelper.safeValue("ghs_" + String(repeating: "A", count: 516)))
        #expect(CredentialHelper.safeValue("x-access-token"))
    }

    @Test func environmentTokensAreBoundToTheirKeyEnvironmentAndExpiry() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("env-tokens-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = try await EnvironmentTokens.load(keysDirectory: directory)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + EnvironmentTokens.fileName)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let grant = EnvironmentGrant(id: "env-1", runner: "r-1", integration: "i", user: "alice", repositoryURL: "https://github.com/contoso/app",
                                     cloneURL: "https://github.com/contoso/app", access: .read, credentialMode: .user, status: .active,
                                     createdAt: Date(), expiresAt: Date().addingTimeInterval(600), revokedAt: nil)
        let token = try await tokens.issue(for: grant)
        let verified = await tokens.verify(token)
        #expect(verified?.id == "env-1")
        #expect(verified?.cloneURL == "https://github.com/contoso/app")
        #expect(verified.map { abs($0.expiresAt.timeIntervalSince(grant.expiresAt)) < 1 } == true)
        // The same key file gives the same verifier; another runner's key does not verify it.
        #expect(await (try EnvironmentTokens.load(keysDirectory: directory)).verify(token) != nil)
        let otherDirectory = directory + "-other"
        try FileManager.default.createDirectory(atPath: otherDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: otherDirectory) }
        #expect(await (try EnvironmentTokens.load(keysDirectory: otherDirectory)).verify(token) == nil)
        // Tampered or expired tokens are refused.
        var tampered = Array(token)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        #expect(await tokens.verify(String(tampered)) == nil)
        var expiredGrant = grant
        expiredGrant.expiresAt = Date().addingTimeInterval(-1)
        #expect(await tokens.verify(try await tokens.issue(for: expiredGrant)) == nil)
        #expect(await tokens.verify("") == nil)
    }
}
