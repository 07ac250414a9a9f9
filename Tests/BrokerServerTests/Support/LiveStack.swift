import AsyncHTTPClient
import BrokerCore
import BrokerCrypto
import BrokerPostgres
import BrokerServer
import FakeSCM
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RunnerAgent
import Testing

/// Broker, fake SCM and runner agents as real servers on loopback, for end-to-end tests.
final class LiveStack: @unchecked Sendable {
    let fake: FakeSCM
    let broker: TestBroker
    let port: Int
    let publicURL: String
    let configuration: BrokerConfiguration
    let runnerLog = TestLog()
    let scmClient = SCMTransport.makeHTTPClient()
    private var server: Task<Void, any Error>?
    private(set) var clock = BrokerClock.system
    private(set) var adminToken = ""
    private(set) var serviceToken = ""

    /// With `postgres`, the broker uses a PostgreSQL store in a fresh schema of the test
    /// database, and `startReplica()` adds more brokers on it.
    static func start(runnerOfflineTimeout: TimeInterval = 60, jobLease: TimeInterval = 60,
                      credentialValidationTimeout: TimeInterval = 30, clock: BrokerClock = .system,
                      postgres: Bool = false, pollRecheckInterval: TimeInterval = 1) async throws -> LiveStack {
        let stack = try await LiveStack(runnerOfflineTimeout: runnerOfflineTimeout, jobLease: jobLease,
                                        credentialValidationTimeout: credentialValidationTimeout,
                                        postgres: postgres ? try await PostgresTestSchema.make() : nil,
                                        pollRecheckInterval: pollRecheckInterval)
        stack.clock = clock
        try await stack.startBroker()
        stack.adminToken = try stack.broker.adminToken
        let created = try await stack.api(.POST, "/api/v1/service-tokens", #"{"name":"environments","role":"environments"}"#)
        stack.serviceToken = try #require(created["token"] as? String)
        return stack
    }

    private init(runnerOfflineTimeout: TimeInterval, jobLease: TimeInterval, credentialValidationTimeout: TimeInterval,
                 postgres: PostgresTestSchema?, pollRecheckInterval: TimeInterval) async throws {
        self.postgres = postgres
        fake = try await FakeSCM.start()
        broker = try TestBroker()
        port = try LiveBroker.freePort()
        publicURL = "http://127.0.0.1:\(port)"
        var configuration = try BrokerConfiguration(host: "127.0.0.1", port: port, publicURL: publicURL,
                                                    dataDirectory: broker.configuration.dataDirectory,
                                                    keysDirectory: broker.configuration.keysDirectory)
        configuration.runnerOfflineTimeout = runnerOfflineTimeout
        configuration.jobLeaseDuration = jobLease
        configuration.credentialValidationTimeout = credentialValidationTimeout
        configuration.pollRecheckInterval = pollRecheckInterval
        self.configuration = configuration
    }

    /// The PostgreSQL schema the brokers share, in PostgreSQL mode.
    let postgres: PostgresTestSchema?
    private var replicas: [Task<Void, any Error>] = []
    private var processes: [Process] = []

    var store: any Store { postgres?.store ?? broker.store }

    func startBroker() async throws {
        let app = try await buildApplication(configuration, store: store, clock: clock, logger: broker.log.logger())
        server = Task { try await app.runService(gracefulShutdownSignals: []) }
        try await LiveBroker.waitUntilHealthy(publicURL)
    }

    /// Another broker on the same PostgreSQL schema, with a connection pool and process state of
    /// its own and the same public URL (a load balancer's); returns the URL it really listens on.
    func startReplica() async throws -> String {
        let postgres = try #require(postgres, "replicas need the PostgreSQL store")
        let store = try await postgres.connect()
        var configuration = self.configuration
        configuration.port = try LiveBroker.freePort()
        configuration.dataDirectory += "-replica-\(replicas.count)"
        let app = try await buildApplication(configuration, store: store, clock: clock, logger: broker.log.logger())
        let url = "http://127.0.0.1:\(configuration.port)"
        replicas.append(Task { try await app.runService(gracefulShutdownSignals: []) })
        try await LiveBroker.waitUntilHealthy(url)
        return url
    }

    func stopBroker() async {
        server?.cancel()
        _ = await server?.result
        server = nil
    }

    /// Another broker on the same PostgreSQL schema as a process of its own (the built
    /// `scm-broker serve`), so that a test can kill it outright; returns its URL and process.
    func startReplicaProcess() async throws -> (url: String, process: Process) {
        let postgres = try #require(postgres, "replicas need the PostgreSQL store")
        let url = try #require(TestDatabase.url)
        let port = try LiveBroker.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: GitClient.binary("scm-broker"))
        process.arguments = ["serve", "--port", "\(port)", "--public-url", publicURL, "--data-dir", configuration.dataDirectory + "-process",
                             "--keys-dir", configuration.keysDirectory, "--log-level", "warning"]
        process.environment = ["SCM_BROKER_DATABASE_URL": url + (url.contains("?") ? "&" : "?") + "search_path=\(try #require(postgres.settings.schema))",
                               "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        processes.append(process)
        let replica = "http://127.0.0.1:\(port)"
        try await LiveBroker.waitUntilHealthy(replica)
        return (replica, process)
    }

    func stop() async throws {
        for process in processes where process.isRunning { process.terminate() }
        for replica in replicas { replica.cancel(); _ = await replica.result }
        await stopBroker()
        postgres?.close()
        await fake.stop()
        try await scmClient.shutdown()
    }

    // MARK: Broker API

    func api(_ method: HTTPMethod, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> [String: Any] {
        let (_, json) = try await apiResponse(method, path, body, token: token)
        return json
    }

    func apiResponse(_ method: HTTPMethod, _ path: String, _ body: String? = nil, token: String? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: publicURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token ?? adminToken)")
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        broker.record(String(buffer: bytes))
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]) ?? [:]
        return (Int(response.status.code), json)
    }

    /// A runner registered through the API with fresh keys (2048-bit for speed).
    func registerRunner(_ name: String = "eu-1") async throws -> TestRunner {
        let created = try await api(.POST, "/api/v1/runners", #"{"name":"\#(name)"}"#)
        let token = try #require(created["registration_token"] as? String)
        let keys = try Fixtures.runnerKeys()
        let id = try await BrokerClient(brokerURL: publicURL).register(registrationToken: token, keys: keys)
        return TestRunner(id: id, keys: keys)
    }

    /// An integration of `kind` pointing at the fake SCM, and the matching app registered there.
    func integration(_ kind: FakeSCM.Kind, runner: TestRunner, clientSecret: String? = nil, registeredSecret: String = "registered-client-secret",
                     appSecret: String? = nil, pat: Bool = true, name: String? = nil, organization: String = "contoso") async throws -> String {
        let clientID = "client-\(kind.rawValue)-\(UUID().uuidString.prefix(8))"
        let secret = clientSecret ?? registeredSecret
        let (provider, url, oauthExtra): (String, String, String) = switch kind {
        case .entra: ("azure-devops", "https://dev.azure.com/\(organization)", #""flavor":"entra","tenant":"organizations","#)
        case .legacy: ("azure-devops", "https://dev.azure.com/\(organization)", #""flavor":"legacy","#)
        case .github: ("github", "https://github.com/\(organization)", "")
        case .gitlab: ("gitlab", "https://gitlab.com/\(organization)", "")
        case .bitbucket: ("bitbucket", "https://bitbucket.org/\(organization)", "")
        }
        let body = #"{"name":"\#(name ?? kind.rawValue)","provider":"\#(provider)","url":"\#(url)","api_url":"\#(fake.apiURL(kind, organization: organization))","git_url":"\#(gitBase(kind))","oauth":{\#(oauthExtra)"client_id":"\#(clientID)","client_secret":"\#(secret)","authority":"\#(fake.authority(kind))"},"pat":{"enabled":\#(pat)}}"#
        let created = try await api(.POST, "/api/v1/runners/\(runner.id)/integrations", body)
        let id = try #require(created["id"] as? String, "\(created)")
        let callback = try #require(created["callback_url"] as? String)
        fake.register(FakeSCM.App(kind: kind, clientID: clientID, clientSecret: registeredSecret, redirectURIs: [callback],
                                  tenant: kind == .entra ? "organizations" : nil, appSecret: appSecret))
        return id
    }

    func connectLinks(user: String = "alice", integrationID: String) async throws -> [String: Any] {
        try await api(.POST, "/api/v1/connect-links", #"{"user":"\#(user)","integration":"\#(integrationID)"}"#, token: serviceToken)
    }

    func connections(user: String = "alice") async throws -> [[String: Any]] {
        try await api(.GET, "/api/v1/users/\(user)/connections", token: serviceToken)["connections"] as? [[String: Any]] ?? []
    }

    // MARK: Runner agents

    /// Starts a runner agent for `runner` and returns the task running it (cancel to kill it).
    /// `brokerURL`: where the agent really sends requests (a replica, or several), if not the public URL.
    func startAgent(_ runner: TestRunner, pollWait: Int = 2, brokerURL: String? = nil) -> Task<Void, any Error> {
        var options = RunnerService.Options()
        options.pollWait = pollWait
        options.retryInitial = .milliseconds(100)
        options.retryMaximum = .milliseconds(500)
        let broker = BrokerClient(brokerURL: brokerURL ?? publicURL, tokenAudience: configuration.tokenEndpoint)
        let service = RunnerService(runnerID: runner.id, keys: runner.keys, broker: broker,
                                    transport: SCMTransport(httpClient: scmClient), options: options, logger: runnerLog.logger(label: "runner"))
        return Task { try await service.run() }
    }

    // MARK: Browser

    /// Follows the connect link in `browser` up to the broker's first page after the callback.
    func beginConnect(_ browser: TestBrowser, integrationID: String, user: String = "alice") async throws -> TestBrowser.Page {
        let links = try await connectLinks(user: user, integrationID: integrationID)
        let oauthURL = try #require(links["oauth_url"] as? String, "\(links)")
        return try await browser.get(oauthURL)
    }

    /// Polls the flow as the page's script does until it is no longer pending; returns the final JSON.
    func waitForFlow(_ browser: TestBrowser, flowURL: String, timeout: Duration = .seconds(45)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let json = try await browser.get(flowURL, accept: "application/json").json
            if json["status"] as? String != "pending" { return json }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("flow still pending after \(timeout)")
        return [:]
    }

    /// Opens the PAT link, pastes `token` (and `username`) into the form and posts it, as a
    /// user does; returns the page the browser lands on.
    func submitPAT(_ browser: TestBrowser, integrationID: String, token: String, username: String? = nil,
                   user: String = "alice") async throws -> TestBrowser.Page {
        let links = try await connectLinks(user: user, integrationID: integrationID)
        let form = try await browser.get(try #require(links["pat_url"] as? String, "\(links)"))
        #expect(form.status == 200, "\(form.text)")
        let csrf = try #require(form.text.range(of: #"name="csrf" value="[^"]+""#, options: .regularExpression)
            .map { String(form.text[$0].dropFirst(#"name="csrf" value=""#.count).dropLast()) })
        let action = try #require(form.text.range(of: #"/connect/flows/[0-9a-f-]{36}/pat"#, options: .regularExpression).map { String(form.text[$0]) })
        var fields = [("csrf", csrf), ("token", token)]
        if let username { fields.append(("username", username)) }
        let body = fields.map { "\($0.0)=\(Fixtures.formEncode($0.1))" }.joined(separator: "&")
        return try await browser.post(publicURL + action, body: body)
    }

    /// The flow URL a waiting page polls.
    func flowURL(in page: TestBrowser.Page) throws -> String {
        let path = try #require(page.text.range(of: #"/connect/flows/[0-9a-f-]{36}"#, options: .regularExpression).map { String(page.text[$0]) },
                                "no flow in page: \(page.text)")
        return publicURL + path
    }
}
