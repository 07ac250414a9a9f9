import ArgumentParser
import AsyncHTTPClient
import Logging
import ServiceLifecycle
import BrokerCrypto
import Foundation
import RunnerAgent

@main
struct SCMRunner: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scm-runner",
        abstract: "The scm-broker runner: holds the private keys and opens what the broker seals for it.",
        subcommands: [Keys.self, Register.self, Integrations.self, Run.self, EnvironmentToken.self, CredentialHelperCommand.self]
    )
}

struct KeysDirectory: ParsableArguments {
    @Option(help: "Directory of the runner's key files (SCM_RUNNER_KEYS_DIR).")
    var keysDir: String = ProcessInfo.processInfo.environment["SCM_RUNNER_KEYS_DIR"] ?? "./keys"
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage the runner's keys.", subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate the RSA encryption key and Ed25519 signing key (0600 PEM files).")

        @OptionGroup var keys: KeysDirectory

        @Option(help: "RSA modulus size (at least 2048).")
        var rsaBits: Int = RSAPrivateKey.defaultBits

        @Flag(help: "Replace existing keys. The runner must then be registered again.")
        var force = false

        func run() async throws {
            let generated = try RunnerKeys.generate(in: keys.keysDir, rsaBits: rsaBits, force: force)
            print("encryption key: \(RunnerKeys.encryptionFile) (RSA \(generated.encryption.publicKey.bits)) id \(generated.encryption.keyID)")
            print("signing key:    \(RunnerKeys.signingFile) (Ed25519) id \(generated.signing.keyID)")
        }
    }
}

struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register this runner's public keys with the broker.")

    @Option(help: ArgumentHelp(
        "The broker's URL: a load balancer's, or several brokers' separated by commas.",
        discussion: "With several, the runner moves to the next when one cannot be reached; the first is the brokers' public URL."))
    var broker: String

    @Option(help: "The one-time registration token from POST /api/v1/runners (or SCM_RUNNER_REGISTRATION_TOKEN).")
    var token: String? = ProcessInfo.processInfo.environment["SCM_RUNNER_REGISTRATION_TOKEN"]

    @OptionGroup var keys: KeysDirectory

    func run() async throws {
        guard let token else { throw ValidationError("pass --token or set SCM_RUNNER_REGISTRATION_TOKEN") }
        let runnerKeys = try RunnerKeys.load(from: keys.keysDir)
        let client = BrokerClient(brokerURL: broker)
        let runnerID = try await client.register(registrationToken: token, keys: runnerKeys)
        try RunnerState(runnerID: runnerID, brokerURL: client.brokerURL).save(in: keys.keysDir)
        print("registered as runner \(runnerID)")
    }
}

struct Integrations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List this runner's integrations and check that each sealed secret opens with its key.")

    @OptionGroup var keys: KeysDirectory

    func run() async throws {
        let runnerKeys = try RunnerKeys.load(from: keys.keysDir)
        let state = try RunnerState.load(from: keys.keysDir)
        let client = BrokerClient(brokerURL: state.brokerURL)
        let token = try await client.accessToken(runnerID: state.runnerID, keys: runnerKeys)
        let integrations = try await client.integrations(accessToken: token)
        if integrations.isEmpty { print("no integrations") }
        for integration in integrations {
            print("\(integration.name)\t\(integration.provider.rawValue)\t\(IntegrationCheck.secretStatus(integration, keys: runnerKeys))")
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the runner agent: long-poll the broker for jobs (OAuth code exchanges, revocations) and run them.")

    @OptionGroup var keys: KeysDirectory

    @Option(help: "Jobs run at once (1–16).")
    var concurrency: Int = 4

    func validate() throws {
        guard (1...16).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 16") }
    }

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (SCM_RUNNER_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["SCM_RUNNER_LOG_LEVEL"] ?? "info"

    @Option(help: "Unix socket environments' credential helpers ask (SCM_RUNNER_SOCKET).")
    var socket: String = ProcessInfo.processInfo.environment[CredentialHelper.socketVariable] ?? CredentialHelper.defaultSocket

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "scm-runner")
        let runnerKeys = try RunnerKeys.load(from: keys.keysDir)
        let state = try RunnerState.load(from: keys.keysDir)
        let httpClient = SCMTransport.makeHTTPClient()
        var options = RunnerService.Options()
        options.concurrency = max(1, concurrency)
        let broker = BrokerClient(brokerURL: state.brokerURL)
        let transport = SCMTransport(httpClient: httpClient)
        // One broker access token for the job loop and the credential endpoint.
        let tokens = AccessTokenCache(client: broker, runnerID: state.runnerID, keys: runnerKeys)
        let service = RunnerService(runnerID: state.runnerID, keys: runnerKeys, broker: broker,
                                    transport: transport, options: options, tokens: tokens, logger: logger)
        let provider = CloneCredentialProvider(runnerID: state.runnerID, keys: runnerKeys, broker: broker, transport: transport,
                                               tokens: tokens, logger: logger)
        let socketServer = try CredentialSocketServer.make(
            path: socket, tokens: try await EnvironmentTokens.load(keysDirectory: keys.keysDir), provider: provider, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service, socketServer], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
        try await httpClient.shutdown()
    }
}
