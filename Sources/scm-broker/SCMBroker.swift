import ArgumentParser
import AsyncHTTPClient
import BrokerServer
import BrokerCore
import BrokerPostgres
import BrokerSQLite
import Foundation
import Hummingbird
import Logging
import RunnerAgent
import ServiceLifecycle

@main
struct SCMBroker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scm-broker",
        abstract: "Self-hosted SCM auth broker for development-environment runners.",
        subcommands: [Serve.self, AdminTokenCommand.self]
    )
}

/// Flag defaults come from SCM_BROKER_* environment variables when set.
func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the broker.",
        discussion: """
            The store is the embedded SQLite database in --data-dir (one broker), or PostgreSQL when \
            --database-url is given (several brokers behind a load balancer).
            """)

    @Option(help: "Address to listen on (SCM_BROKER_HOST).")
    var host: String = environment("SCM_BROKER_HOST") ?? "127.0.0.1"

    @Option(help: "Port to listen on (SCM_BROKER_PORT).")
    var port: Int = environment("SCM_BROKER_PORT").flatMap(Int.init) ?? 8080

    @Option(help: "URL users and runners reach the broker at (SCM_BROKER_PUBLIC_URL). Default: http://<host>:<port>.")
    var publicURL: String? = environment("SCM_BROKER_PUBLIC_URL")

    @Option(help: "Directory of the database (SCM_BROKER_DATA_DIR).")
    var dataDir: String = environment("SCM_BROKER_DATA_DIR") ?? "./data"

    @Option(help: "Directory of key and token files (SCM_BROKER_KEYS_DIR).")
    var keysDir: String = environment("SCM_BROKER_KEYS_DIR") ?? "./keys"

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (SCM_BROKER_LOG_LEVEL).")
    var logLevel: String = environment("SCM_BROKER_LOG_LEVEL") ?? "info"

    @Option(help: ArgumentHelp(
        "Also run a runner agent named NAME in this process (SCM_BROKER_WITH_RUNNER), for single-machine installs.",
        discussion: "Its keys live in <keys-dir>/runner-NAME and it registers itself. The separate `scm-runner run` is the normal deployment."))
    var withRunner: String? = environment("SCM_BROKER_WITH_RUNNER")

    @Option(help: "With --with-runner: the Unix socket environments' credential helpers ask (SCM_RUNNER_SOCKET).")
    var runnerSocket: String = environment("SCM_RUNNER_SOCKET") ?? CredentialHelper.defaultSocket

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let configuration: BrokerConfiguration
        do {
            configuration = try BrokerConfiguration(host: host, port: port, publicURL: publicURL, dataDirectory: dataDir, keysDirectory: keysDir)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let logger = Logger(label: "scm-broker")
        let opened = try await database.openStore(dataDirectory: dataDir, serving: true, logger: logger)
        let store = opened.store
        var app = try await buildApplication(configuration, store: store, logger: logger)
        if let service = opened.service { app.addServices(service) }
        var runnerHTTPClient: HTTPClient?
        if let name = withRunner {
            let httpClient = SCMTransport.makeHTTPClient()
            runnerHTTPClient = httpClient
            let (runner, socket) = try await colocatedRunner(name: name, configuration: configuration, store: store, httpClient: httpClient)
            app.addServices(runner, socket)
        }
        // Runs until SIGTERM or SIGINT, then shuts down gracefully.
        try await app.runService()
        try await runnerHTTPClient?.shutdown()
        // The data directory's lock (SQLite) is held until here.
        withExtendedLifetime(opened) {}
    }

    private func colocatedRunner(name: String, configuration: BrokerConfiguration, store: any Store,
                                 httpClient: HTTPClient) async throws -> (RunnerService, any Service) {
        let directory = (keysDir as NSString).appendingPathComponent("runner-\(name)")
        let keys = FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(RunnerKeys.encryptionFile))
            ? try RunnerKeys.load(from: directory) : try RunnerKeys.generate(in: directory)
        let runnerID = try await ColocatedRunner.ensureRegistered(
            name: name, encryptionKey: keys.encryption.publicKey, signingKey: keys.signing.publicKey, store: store)
        // Over loopback to this process; assertions still name the public token endpoint.
        let local = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host.contains(":") ? "[\(host == "::" ? "::1" : host)]" : host):\(port)"
        let broker = BrokerClient(brokerURL: local, tokenAudience: configuration.tokenEndpoint)
        // `scm-runner environment-token --keys-dir <keys-dir>/runner-NAME` works for it too.
        try RunnerState(runnerID: runnerID, brokerURL: local).save(in: directory)
        let logger = Logger(label: "scm-runner.\(name)")
        let transport = SCMTransport(httpClient: httpClient)
        // One broker access token for the agent's job loop and its credential endpoint.
        let tokens = AccessTokenCache(client: broker, runnerID: runnerID, keys: keys)
        let provider = CloneCredentialProvider(runnerID: runnerID, keys: keys, broker: broker, transport: transport, tokens: tokens,
                                               logger: logger)
        let socket = try CredentialSocketServer.make(path: runnerSocket, tokens: try await EnvironmentTokens.load(keysDirectory: directory),
                                                     provider: provider, logger: logger)
        return (RunnerService(runnerID: runnerID, keys: keys, broker: broker, transport: transport, tokens: tokens, logger: logger), socket)
    }
}

struct AdminTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin-token", abstract: "Manage admin API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin token and print it once.")

        @Option(help: "A name to recognise the token by.")
        var name: String = "cli"

        @Option(help: "Directory of the database (SCM_BROKER_DATA_DIR).")
        var dataDir: String = environment("SCM_BROKER_DATA_DIR") ?? "./data"

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let opened = try await database.openStore(dataDirectory: dataDir, serving: false, logger: Logger(label: "scm-broker"))
            defer { opened.close() }
            // The one place a token is printed: to stdout of the admin who asked for it.
            print(try await AdminTokens.create(name: name, store: opened.store))
        }
    }
}
