import FakeSCM
import Foundation
import Testing

/// The real git CLI against the fake's smart-HTTP repositories.
enum GitCLI {
    struct Outcome {
        var status: Int32
        var output: String
        var ok: Bool { status == 0 }
    }

    /// Runs git off the cooperative pool (it blocks, and the fake answers on the same process).
    static func run(_ arguments: [String], in directory: URL) async -> Outcome {
        await withCheckedContinuation { continuation in
            // A thread of its own: blocking in libdispatch's small pool (one worker per core on
            // Linux) stalls every other user of it.
            Thread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["git", "-c", "credential.helper=", "-c", "user.name=Tester",
                                     "-c", "user.email=tester@example.invalid"] + arguments
                process.currentDirectoryURL = directory
                process.environment = [
                    "HOME": directory.path, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
                    "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                ]
                // A file, not a pipe: concurrently started children may inherit pipe ends.
                let log = directory.appendingPathComponent("git-\(UUID().uuidString).log")
                FileManager.default.createFile(atPath: log.path, contents: nil)
                defer { try? FileManager.default.removeItem(at: log) }
                guard let handle = try? FileHandle(forWritingTo: log) else {
                    continuation.resume(returning: Outcome(status: -1, output: "no log file"))
                    return
                }
                defer { try? handle.close() }
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = handle
                process.standardError = handle
                do {
                    try process.run()
                } catch {
                    continuation.resume(returning: Outcome(status: -1, output: "\(error)"))
                    return
                }
                process.waitUntilExit()
                let output = (try? Data(contentsOf: log)) ?? Data()
                continuation.resume(returning: Outcome(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self)))
            }.start()
        }
    }

    /// `-c http.extraHeader=Authorization: Basic …`.
    static func basic(_ user: String, _ password: String) -> [String] {
        ["-c", "http.extraHeader=Authorization: Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// Clones `url` into a new directory under `root` with `auth` options.
    static func clone(_ url: String, auth: [String], root: URL) async -> (Outcome, URL) {
        let target = root.appendingPathComponent("clone-" + UUID().uuidString.prefix(8))
        return (await run(auth + ["clone", "-q", url, target.path], in: root), target)
    }

    static func readme(_ directory: URL) -> String? {
        try? String(contentsOf: directory.appendingPathComponent("README.md"), encoding: .utf8)
    }

    static func withTemporaryDirectory(_ body: (URL) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("git-tests-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try await body(root)
    }

    /// A URL with credentials in its user part.
    static func withUser(_ url: String, _ user: String, _ password: String) -> String {
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
        return url.replacingOccurrences(of: "http://", with: "http://\(escape(user)):\(escape(password))@")
    }
}

@Suite struct GitTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var provider: FakeSCM.Provider
        var kind: FakeSCM.Kind
        var path: String
        var oauthUser: String
        var testDescription: String { provider.rawValue }
    }

    static let cases = [
        Case(provider: .azureDevOps, kind: .entra, path: "contoso/web/portal", oauthUser: "anything"),
        Case(provider: .github, kind: .github, path: "octo/hello", oauthUser: "x-access-token"),
        Case(provider: .gitlab, kind: .gitlab, path: "group/sub/hello", oauthUser: "oauth2"),
        Case(provider: .bitbucket, kind: .bitbucket, path: "team/hello", oauthUser: "x-token-auth"),
    ]

    @Test(arguments: cases) func cloneWithTheProvidersConvention(_ c: Case) async throws {
        try await Harness.run { h in
            try h.fake.createRepository(c.provider, path: c.path, content: "content of \(c.path)\n")
            let url = h.fake.cloneURL(c.provider, path: c.path)
            let oauth = try #require(try await h.tokens(Apps.for(c.kind))["access_token"] as? String)
            let pat = "pat-\(c.provider.rawValue)-1"
            h.fake.add(FakeSCM.PAT(provider: c.provider, token: pat, username: c.provider == .bitbucket ? "alice-bb" : nil))
            let patUser = c.provider == .bitbucket ? "alice-bb" : "someone"
            try await GitCLI.withTemporaryDirectory { root in
                // OAuth token, credentials in the URL (git sends them after the 401 challenge).
                let (viaURL, dir1) = await GitCLI.clone(GitCLI.withUser(url, c.oauthUser, oauth), auth: [], root: root)
                #expect(viaURL.ok, "\(viaURL.output)")
                #expect(GitCLI.readme(dir1) == "content of \(c.path)\n")
                // PAT with the provider's user name rule, as an extra header.
                let (viaPAT, dir2) = await GitCLI.clone(url, auth: GitCLI.basic(patUser, pat), root: root)
                #expect(viaPAT.ok, "\(viaPAT.output)")
                #expect(GitCLI.readme(dir2) == "content of \(c.path)\n")
                // A wrong token never works.
                let (wrong, _) = await GitCLI.clone(url, auth: GitCLI.basic(c.oauthUser, "nope"), root: root)
                #expect(!wrong.ok)
            }
            #expect(h.fake.gitRequests >= 4)
        }
    }

    @Test func wrongUserNameConventionsAreRefused() async throws {
        try await Harness.run { h in
            try h.fake.createRepository(.azureDevOps, path: "contoso/web/portal")
            try h.fake.createRepository(.bitbucket, path: "team/app")
            try h.fake.createRepository(.gitlab, path: "group/app")
            h.fake.addPAT(organization: "contoso", token: "ado-pat", user: .alice)
            h.fake.add(FakeSCM.PAT(provider: .bitbucket, token: "bb-app-password", username: "alice-bb"))
            let bitbucket = try #require(try await h.tokens(Apps.bitbucket)["access_token"] as? String)
            let gitlab = try #require(try await h.tokens(Apps.gitlab)["access_token"] as? String)
            let ado = h.fake.cloneURL(.azureDevOps, path: "contoso/web/portal")
            let bb = h.fake.cloneURL(.bitbucket, path: "team/app")
            let gl = h.fake.cloneURL(.gitlab, path: "group/app")
            try await GitCLI.withTemporaryDirectory { root in
                let refused: [(String, [String])] = [
                    (ado, GitCLI.basic("", "ado-pat")),                     // ADO: empty user name
                    (bb, GitCLI.basic("alice", bitbucket)),                 // Bitbucket OAuth without x-token-auth
                    (bb, GitCLI.basic("x-token-auth", "bb-app-password")),  // app password needs its user name
                    (gl, GitCLI.basic("alice", gitlab)),                    // GitLab OAuth needs oauth2
                ]
                for (url, auth) in refused {
                    let (outcome, _) = await GitCLI.clone(url, auth: auth, root: root)
                    #expect(!outcome.ok)
                    // After the 401 challenge git asks for other credentials, and there are none.
                    #expect(outcome.output.contains("could not read Username") || outcome.output.contains("Authentication failed"),
                            "\(outcome.output)")
                }
                let (adoOK, _) = await GitCLI.clone(ado, auth: GitCLI.basic("x", "ado-pat"), root: root)
                #expect(adoOK.ok, "\(adoOK.output)")
            }
            // The raw answer for the empty ADO user name.
            let raw = try await h.get(ado + "/info/refs?service=git-upload-pack", headers: [Harness.basic("", "ado-pat")])
            #expect(raw.status == 401)
            // Azure DevOps also takes a bearer token.
            let entra = try #require(try await h.tokens(Apps.entra)["access_token"] as? String)
            let bearer = try await h.get(ado + "/info/refs?service=git-upload-pack", headers: [("Authorization", "Bearer \(entra)")])
            #expect(bearer.status == 200)
            #expect(bearer.header("Content-Type") == "application/x-git-upload-pack-advertisement")
        }
    }

    @Test func noCredentialsGet401WithABasicChallenge() async throws {
        try await Harness.run { h in
            try h.fake.createRepository(.github, path: "octo/private")
            let url = h.fake.cloneURL(.github, path: "octo/private")
            let answer = try await h.get(url + "/info/refs?service=git-upload-pack")
            #expect(answer.status == 401)
            #expect(answer.header("WWW-Authenticate")?.hasPrefix("Basic realm=") == true)
            let push = try await h.post(url + "/git-receive-pack", body: "", contentType: "application/x-git-receive-pack-request")
            #expect(push.status == 401)
            try await GitCLI.withTemporaryDirectory { root in
                let (outcome, _) = await GitCLI.clone(url, auth: [], root: root)
                #expect(!outcome.ok)
            }
        }
    }

    @Test func readGrantClonesButCannotPushAndWriteGrantPushes() async throws {
        try await Harness.run { h in
            try h.fake.createRepository(.github, path: "octo/shared", content: "v1\n")
            h.fake.grantGit(.github, token: "ghs_reader", path: "octo/shared", access: .read)
            h.fake.grantGit(.github, token: "ghs_writer", path: "octo/shared", access: .write)
            let url = h.fake.cloneURL(.github, path: "octo/shared")
            try await GitCLI.withTemporaryDirectory { root in
                let reader = GitCLI.basic("x-access-token", "ghs_reader")
                let writer = GitCLI.basic("x-access-token", "ghs_writer")
                let (cloned, dir) = await GitCLI.clone(url, auth: reader, root: root)
                #expect(cloned.ok, "\(cloned.output)")
                try Data("v2\n".utf8).write(to: dir.appendingPathComponent("README.md"))
                let commit = await GitCLI.run(["-C", dir.path, "commit", "-q", "-am", "v2"], in: root)
                #expect(commit.ok, "\(commit.output)")
                let refused = await GitCLI.run(reader + ["-C", dir.path, "push", "-q", "origin", "main"], in: root)
                #expect(!refused.ok)
                #expect(refused.output.contains("403"), "\(refused.output)")

                let pushed = await GitCLI.run(writer + ["-C", dir.path, "push", "-q", "origin", "main"], in: root)
                #expect(pushed.ok, "\(pushed.output)")
                let (second, dir2) = await GitCLI.clone(url, auth: reader, root: root)
                #expect(second.ok, "\(second.output)")
                #expect(GitCLI.readme(dir2) == "v2\n")
            }
            let raw = try await h.get(url + "/info/refs?service=git-receive-pack", headers: [Harness.basic("x-access-token", "ghs_reader")])
            #expect(raw.status == 403)
        }
    }

    @Test func aTokenForOneRepositoryCannotCloneAnother() async throws {
        try await Harness.run { h in
            try h.fake.createRepository(.github, path: "octo/a")
            try h.fake.createRepository(.github, path: "octo/b")
            h.fake.grantGit(.github, token: "ghs_a", path: "octo/a", access: .write)
            let b = h.fake.cloneURL(.github, path: "octo/b")
            try await GitCLI.withTemporaryDirectory { root in
                let (a, _) = await GitCLI.clone(h.fake.cloneURL(.github, path: "octo/a"), auth: GitCLI.basic("x-access-token", "ghs_a"), root: root)
                #expect(a.ok, "\(a.output)")
                let (other, _) = await GitCLI.clone(b, auth: GitCLI.basic("x-access-token", "ghs_a"), root: root)
                #expect(!other.ok)
            }
            let raw = try await h.get(b + "/info/refs?service=git-upload-pack", headers: [Harness.basic("x-access-token", "ghs_a")])
            #expect(raw.status == 404)
            #expect(raw.body.contains("Repository not found"))
            // A PAT without Code access, and a PAT of another organization.
            try h.fake.createRepository(.azureDevOps, path: "fabrikam/web/site")
            h.fake.add(FakeSCM.PAT(provider: .azureDevOps, token: "no-code", organization: "fabrikam", canReadCode: false))
            h.fake.addPAT(organization: "contoso", token: "contoso-pat", user: .alice)
            let site = h.fake.cloneURL(.azureDevOps, path: "fabrikam/web/site")
            let noCode = try await h.get(site + "/info/refs?service=git-upload-pack", headers: [Harness.basic("u", "no-code")])
            #expect(noCode.status == 404)
            let otherOrg = try await h.get(site + "/info/refs?service=git-upload-pack", headers: [Harness.basic("u", "contoso-pat")])
            #expect(otherOrg.status == 401)
        }
    }
}
