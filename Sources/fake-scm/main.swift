import ArgumentParser
import FakeSCM
import Foundation
import Hummingbird
import Logging

/// `swift run fake-scm`: the strict fake SCM with one demo app per provider, for trying
/// scm-broker locally. The secrets are fake and printed on purpose.
struct FakeSCMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-scm",
        abstract: "Serve fake Azure DevOps (Entra and legacy OAuth), GitHub, GitLab and Bitbucket endpoints on loopback."
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port).")
    var port = 9000

    @Option(name: .customLong("redirect-uri"), help: "A redirect URI to register for every demo app (repeatable).")
    var redirectURIs: [String] = []

    @Flag(inversion: .prefixedNo, help: "Accept any http://127.0.0.1 or http://localhost redirect URI at authorize (still checked at the token step).")
    var allowAnyLoopbackRedirect = true

    @Option(help: "Azure DevOps organizations that exist besides contoso (repeatable).")
    var organization: [String] = []

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "info"

    static let demoApps: [FakeSCM.App] = [
        FakeSCM.App(kind: .entra, clientID: "demo-entra-client", clientSecret: "fake-entra-secret", redirectURIs: [],
                    secretID: "fake-entra-secret-id"),
        FakeSCM.App(kind: .legacy, clientID: "demo-legacy-client", clientSecret: "fake-legacy-client-secret", redirectURIs: [],
                    appSecret: "fake-legacy-app-secret"),
        FakeSCM.App(kind: .github, clientID: "demo-github-client", clientSecret: "fake-github-secret", redirectURIs: [],
                    expiringTokens: true),
        FakeSCM.App(kind: .gitlab, clientID: "demo-gitlab-client", clientSecret: "fake-gitlab-secret", redirectURIs: []),
        FakeSCM.App(kind: .bitbucket, clientID: "demo-bitbucket-client", clientSecret: "fake-bitbucket-secret", redirectURIs: []),
    ]

    /// One demo PAT per provider (fake values, printed on purpose), with what the fake checks.
    static let demoPATs: [(pat: FakeSCM.PAT, hint: String)] = [
        (FakeSCM.PAT(provider: .azureDevOps, token: "fake-ado-pat-contoso-0123456789abcdef", organization: "contoso"),
         "Basic auth, any user name (even empty); contoso only; {api_url}/_apis/connectionData (bad PAT: 401 with X-TFS-FedAuthRedirect: Suppress, else 203 HTML), Code read: {api_url}/_apis/git/repositories?api-version=7.1"),
        (FakeSCM.PAT(provider: .github, token: "ghp_fakedemo0000000000000000000000000000", scopes: ["repo", "read:org"],
                     expiresAt: Date().addingTimeInterval(90 * 86400)),
         "Authorization: token <PAT> (or Bearer); {api_url}/user answers X-OAuth-Scopes: repo, read:org and GitHub-Authentication-Token-Expiration"),
        (FakeSCM.PAT(provider: .gitlab, token: "glpat-fakedemo000000000000", scopes: ["read_user", "read_repository"]),
         "PRIVATE-TOKEN: <PAT> (or Authorization: Bearer); {api_url}/personal_access_tokens/self; {api_url}/user needs read_user, read_api or api"),
        (FakeSCM.PAT(provider: .bitbucket, token: "fake-bitbucket-api-token-0123456789", username: "alice"),
         "Basic auth alice:<token>, the user name must match; {api_url}/user, {api_url}/repositories/contoso?role=member"),
    ]

    /// Demo repositories served over git smart HTTP: (provider, path, public URL, git base).
    static let demoRepositories: [(FakeSCM.Provider, String, String, String)] = [
        (.azureDevOps, "contoso/web/portal", "https://dev.azure.com/contoso/web/_git/portal", "/git/ado"),
        (.github, "contoso/app", "https://github.com/contoso/app", "/git/github"),
        (.gitlab, "contoso/app", "https://gitlab.com/contoso/app", "/git/gitlab"),
        (.bitbucket, "contoso/app", "https://bitbucket.org/contoso/app", "/git/bitbucket"),
    ]

    func run() async throws {
        var logger = Logger(label: "fake-scm")
        logger.logLevel = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        let fake = try await FakeSCM.start(host: host, port: port, logger: logger)
        fake.allowAnyLoopbackRedirect = allowAnyLoopbackRedirect
        for name in organization { fake.addOrganization(name) }
        for var app in Self.demoApps {
            app.redirectURIs = redirectURIs
            fake.register(app)
        }
        for demo in Self.demoPATs { fake.add(demo.pat) }
        for (provider, path, url, _) in Self.demoRepositories {
            try fake.createRepository(provider, path: path, content: "Hello from \(url) on the fake SCM.\n")
        }
        output(summary(fake))
        await waitForTermination()
        output("fake-scm: stopping")
        await fake.stop()
    }

    func summary(_ fake: FakeSCM) -> String {
        var lines = ["fake-scm listening on \(fake.baseURL)", ""]
        lines.append("Redirect URIs: " + (redirectURIs.isEmpty ? "(none registered)" : redirectURIs.joined(separator: ", ")))
        lines.append(allowAnyLoopbackRedirect
            ? "Demo mode: any http://127.0.0.1 or http://localhost redirect URI is accepted at authorize (--no-allow-any-loopback-redirect to turn off)."
            : "Only the registered redirect URIs are accepted.")
        lines.append("Signed-in user: \(fake.currentUser.login) (\(fake.currentUser.displayName)); Azure DevOps organizations: contoso\(organization.map { ", " + $0 }.joined())")
        lines.append("")
        for app in Self.demoApps {
            let org = "contoso"
            var oauth: [(String, String)] = []
            let provider: String
            switch app.kind {
            case .entra:
                provider = "azure-devops"
                oauth = [("flavor", "entra"), ("tenant", "organizations")]
            case .legacy:
                provider = "azure-devops"
                oauth = [("flavor", "legacy")]
            case .github, .gitlab, .bitbucket:
                provider = app.kind.rawValue
            }
            oauth += [("authority", fake.authority(app.kind)), ("client_id", app.clientID), ("client_secret", app.clientSecret)]
            lines.append("[\(app.kind.rawValue)]")
            lines.append("  oauth.authority     \(fake.authority(app.kind))")
            lines.append("  oauth.client_id     \(app.clientID)")
            lines.append("  oauth.client_secret \(app.clientSecret)")
            lines.append("  api_url             \(fake.apiURL(app.kind, organization: org))")
            switch app.kind {
            case .entra:
                lines.append("  oauth.tenant        organizations; scope \"499b84ac-1321-427f-aa17-267ca6975798/vso.code_write offline_access\"")
                lines.append("  quirk: sending the secret ID \(app.secretID ?? "") instead fails with AADSTS7000215")
            case .legacy:
                lines.append("  scope vso.code_write; quirk: the App Secret \(app.appSecret ?? "") fails with \"Failed to deserialize the JsonWebToken object\"")
            case .github:
                lines.append("  GitHub App with expiring tokens (8 h) and rotating refresh tokens; send Accept: application/json")
            case .gitlab:
                lines.append("  scopes e.g. \"read_user write_repository\" (/api/v4/user needs read_user, read_api or api)")
            case .bitbucket:
                lines.append("  client credentials as HTTP Basic auth only")
            }
            let json = oauth.map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ")
            lines.append("  integration JSON: {\"provider\": \"\(provider)\", \"api_url\": \"\(fake.apiURL(app.kind, organization: org))\", \"oauth\": {\(json)}}")
            lines.append("")
        }
        lines.append("Personal access tokens (fake, for user \(fake.currentUser.login)):")
        for (pat, hint) in Self.demoPATs {
            let api = switch pat.provider {
            case .azureDevOps: fake.apiURL(.entra, organization: pat.organization)
            case .github: fake.apiURL(.github)
            case .gitlab: fake.apiURL(.gitlab)
            case .bitbucket: fake.apiURL(.bitbucket)
            }
            lines.append("[\(pat.provider == .azureDevOps ? "azure-devops" : pat.provider.rawValue) PAT]")
            if let username = pat.username { lines.append("  username            \(username)") }
            lines.append("  token               \(pat.token)")
            lines.append("  api_url             \(api)")
            lines.append("  checks: " + hint.replacingOccurrences(of: "{api_url}", with: api))
            lines.append("")
        }
        lines.append("Git repositories (smart HTTP; an integration's git_url is the base, clone URLs add the repository's path):")
        for (_, _, url, base) in Self.demoRepositories {
            lines.append("  \(url)  git_url \(fake.baseURL)\(base)")
        }
        lines.append("")
        lines.append("Press Ctrl-C to stop.")
        return lines.joined(separator: "\n")
    }

    /// Unbuffered, so the summary shows at once even when piped.
    func output(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Returns on SIGINT or SIGTERM.
    func waitForTermination() async {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        for await _ in signals { break }
        sources.forEach { $0.cancel() }
    }
}

// main.swift cannot use @main, and top-level code resolves `FakeSCMCommand.main()` to the
// synchronous entry point: call it from an async function, where the async one wins.
func runFakeSCM() async {
    await FakeSCMCommand.main()
}

await runFakeSCM()
