import ArgumentParser
import AsyncHTTPClient
import BrokerProtocol
import Foundation
import RunnerAgent

struct EnvironmentToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "environment-token",
        abstract: "Print the token an environment's credential helper shows this runner (SCM_RUNNER_ENVIRONMENT_TOKEN).",
        discussion: "The environment must be this runner's and active; the token expires with its clone grant.")

    @Argument(help: "The environment id from POST /api/v1/environments.")
    var environment: String

    @OptionGroup var keys: KeysDirectory

    func run() async throws {
        let runnerKeys = try RunnerKeys.load(from: keys.keysDir)
        let state = try RunnerState.load(from: keys.keysDir)
        let client = BrokerClient(brokerURL: state.brokerURL)
        let accessToken = try await client.accessToken(runnerID: state.runnerID, keys: runnerKeys)
        let grant: EnvironmentGrant
        do {
            grant = try await client.environment(id: environment, accessToken: accessToken)
        } catch let refusal as BrokerRefusal {
            throw RunnerError(refusal.description)
        }
        guard grant.status == .active else { throw RunnerError("environment \(environment) is \(grant.status.rawValue)") }
        let tokens = try await EnvironmentTokens.load(keysDirectory: keys.keysDir)
        print(try await tokens.issue(for: grant))
    }
}

struct CredentialHelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential-helper",
        abstract: "Git credential helper for environments: `git config --global credential.helper '!scm-runner credential-helper'`.",
        discussion: """
            Needs `credential.useHttpPath=true`, SCM_RUNNER_ENVIRONMENT_TOKEN and the runner's socket (SCM_RUNNER_SOCKET, \
            default \(CredentialHelper.defaultSocket)). Answers only for the environment's repository; stores nothing.
            """)

    @Argument(help: "get, store or erase (git passes it).")
    var operation: String

    func run() async throws {
        var input = ""
        while let line = readLine(strippingNewline: true) {
            if line.isEmpty { break }
            input += line + "\n"
        }
        let output = await CredentialHelper.run(operation: operation, input: input, environment: ProcessInfo.processInfo.environment,
                                                httpClient: HTTPClient.shared)
        if let message = output.stderr { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        FileHandle.standardOutput.write(Data(output.stdout.utf8))
    }
}
