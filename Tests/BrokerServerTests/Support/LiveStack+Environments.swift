import AsyncHTTPClient
import FakeSCM
import Foundation
import RunnerAgent
import ServiceLifecycle
import Testing

extension LiveStack {
    /// Where the fake serves git for `kind`: an integration's `git_url`.
    func gitBase(_ kind: FakeSCM.Kind) -> String {
        switch kind {
        case .entra, .legacy: fake.baseURL + "/git/ado"
        case .github: fake.baseURL + "/git/github"
        case .gitlab: fake.baseURL + "/git/gitlab"
        case .bitbucket: fake.baseURL + "/git/bitbucket"
        }
    }

    /// Connects `user`'s account through the browser flow (an agent must be running).
    func connect(integrationID: String, user: String = "alice") async throws {
        let browser = TestBrowser()
        let page = try await beginConnect(browser, integrationID: integrationID, user: user)
        let final = try await waitForFlow(browser, flowURL: try flowURL(in: page))
        #expect(final["status"] as? String == "connected", "\(final)")
        try await browser.shutdown()
    }

    func createEnvironment(runner: TestRunner, user: String = "alice", repository: String, access: String = "read",
                           ttl: Int? = nil) async throws -> (Int, [String: Any]) {
        let ttlField = ttl.map { #","ttl_seconds":\#($0)"# } ?? ""
        return try await apiResponse(.POST, "/api/v1/environments",
                                     #"{"runner":"\#(runner.id)","user":"\#(user)","repository_url":"\#(repository)","access":"\#(access)"\#(ttlField)}"#,
                                     token: serviceToken)
    }

    func auditEvents(_ query: String = "") async throws -> [[String: Any]] {
        try await api(.GET, "/api/v1/audit\(query.isEmpty ? "" : "?" + query)")["events"] as? [[String: Any]] ?? []
    }

    /// The runner's credential socket for `runner`, as `scm-runner run` serves it.
    func startCredentialSocket(_ runner: TestRunner) async throws -> CredentialSocket {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scmr-" + UUID().uuidString.prefix(8)).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = "/tmp/scmr-\(UUID().uuidString.prefix(8)).sock"
        let tokens = try await EnvironmentTokens.load(keysDirectory: directory)
        let provider = makeProvider(runner)
        let service = try CredentialSocketServer.make(path: path, tokens: tokens, provider: provider, logger: runnerLog.logger(label: "socket"))
        let task = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: path), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return CredentialSocket(path: path, tokens: tokens, task: task, broker: BrokerClient(brokerURL: publicURL), runner: runner)
    }

    /// `brokerURL`: where the provider really sends requests (a replica), if not the public URL.
    func makeProvider(_ runner: TestRunner, brokerURL: String? = nil) -> CloneCredentialProvider {
        CloneCredentialProvider(runnerID: runner.id, keys: runner.keys,
                                broker: BrokerClient(brokerURL: brokerURL ?? publicURL, tokenAudience: configuration.tokenEndpoint),
                                transport: SCMTransport(httpClient: scmClient), logger: runnerLog.logger(label: "runner"))
    }
}

struct CredentialSocket {
    let path: String
    let tokens: EnvironmentTokens
    let task: Task<Void, any Error>
    let broker: BrokerClient
    let runner: TestRunner

    /// What `scm-runner environment-token` prints for the environment.
    func environmentToken(_ environmentID: String) async throws -> String {
        let accessToken = try await broker.accessToken(runnerID: runner.id, keys: runner.keys)
        return try await tokens.issue(for: try await broker.environment(id: environmentID, accessToken: accessToken))
    }

    func stop() async {
        task.cancel()
        _ = await task.result
        unlink(path)
    }
}

/// The real `git` with the real `scm-runner credential-helper`, isolated from the machine's configuration.
struct GitClient {
    let home: String
    var environmentToken: String?
    var socket: String?

    init(environmentToken: String? = nil, socket: String? = nil) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("git-home-" + UUID().uuidString.prefix(8)).path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        self.environmentToken = environmentToken
        self.socket = socket
    }

    /// The built `scm-runner` beside this test bundle.
    static var helperBinary: String { binary("scm-runner") }

    /// A built executable of this package beside this test bundle.
    static func binary(_ name: String) -> String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var directory = testBinary.deletingLastPathComponent()
        // …/debug/scm-brokerPackageTests.xctest (a file on Linux, a bundle elsewhere).
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent(name).path
    }

    /// The one-line configuration the README gives environments, as `-c` options.
    var helperOptions: [String] {
        ["-c", "credential.helper=", "-c", "credential.helper=!\(Self.helperBinary) credential-helper", "-c", "credential.useHttpPath=true"]
    }

    /// Runs git on a thread of its own: waiting for it on one of Swift concurrency's few
    /// threads would starve the servers (broker, runner socket, fake SCM) it talks to.
    func run(_ arguments: [String], in directory: String? = nil, helper: Bool = true) async throws -> (status: Int32, output: String) {
        try await onOwnThread { try runBlocking(arguments, in: directory, helper: helper) }
    }

    private func runBlocking(_ arguments: [String], in directory: String?, helper: Bool) throws -> (status: Int32, output: String) {
        var environment: [String: String] = [
            "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        environment[CredentialHelper.tokenVariable] = environmentToken
        environment[CredentialHelper.socketVariable] = socket
        let output = URL(fileURLWithPath: home).appendingPathComponent("out-" + UUID().uuidString.prefix(8))
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + (helper ? helperOptions : []) + arguments
        process.environment = environment
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }

    /// Clones `url` into a new directory; returns git's status, output and the directory.
    func clone(_ url: String) async throws -> (status: Int32, output: String, directory: String) {
        let directory = URL(fileURLWithPath: home).appendingPathComponent("clone-" + UUID().uuidString.prefix(8)).path
        let (status, output) = try await run(["clone", "-q", url, directory])
        return (status, output, directory)
    }

    /// Commits a file in `directory` and pushes `main`.
    func commitAndPush(in directory: String) async throws -> (status: Int32, output: String) {
        try "change\n".write(toFile: directory + "/CHANGE.md", atomically: true, encoding: .utf8)
        _ = try await run(["add", "CHANGE.md"], in: directory, helper: false)
        _ = try await run(["-c", "user.name=Env", "-c", "user.email=env@example.invalid", "commit", "-q", "-m", "change"], in: directory, helper: false)
        return try await run(["push", "-q", "origin", "main"], in: directory)
    }
}
