import BrokerCrypto
import BrokerServer
import Foundation
import Testing

@Suite("Co-located runner (serve --with-runner)")
struct ColocatedRunnerTests {
    @Test func registersOnceAndRefusesTheNameWithOtherKeys() async throws {
        let broker = try TestBroker()
        let keys = try Fixtures.runnerKeys()
        let id = try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: keys.encryption.publicKey,
                                                            signingKey: keys.signing.publicKey, store: broker.store)
        let runner = try #require(try await broker.store.runner(id: id))
        #expect(runner.status == .registered)
        #expect(runner.encryptionKey?.keyID == keys.encryption.keyID)
        #expect(runner.signingKey?.keyID == keys.signing.keyID)

        let again = try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: keys.encryption.publicKey,
                                                               signingKey: keys.signing.publicKey, store: broker.store)
        #expect(again == id)
        #expect(try await broker.store.runners().count == 1)

        let other = try Fixtures.runnerKeys()
        await #expect(throws: ConfigurationError.self) {
            try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: other.encryption.publicKey,
                                                       signingKey: other.signing.publicKey, store: broker.store)
        }
    }
}

@Suite("One broker per SQLite data directory (the real executable)")
struct SingleBrokerProcessTests {
    /// Runs the built `scm-broker` with `arguments` in `directory`.
    static func broker(_ arguments: [String], in directory: String) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: GitClient.binary("scm-broker"))
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": directory]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        return (process, errors)
    }

    @Test func aSecondBrokerOnTheSameDataDirectoryIsRefusedAndTouchesNothing() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("single-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (first, _) = try Self.broker(["serve", "--port", "\(try LiveBroker.freePort())", "--with-runner", "local",
                                          "--runner-socket", directory + "/first.sock"], in: directory)
        defer { first.terminate() }
        let firstURL = "http://127.0.0.1:\(first.arguments![2])"
        try await LiveBroker.waitUntilHealthy(firstURL)
        let state = directory + "/keys/runner-local/runner.json"
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: state) { try await Task.sleep(for: .milliseconds(50)) }
        let before = try String(contentsOfFile: state, encoding: .utf8)

        let (second, errors) = try Self.broker(["serve", "--port", "\(try LiveBroker.freePort())", "--with-runner", "local",
                                                "--runner-socket", directory + "/second.sock"], in: directory)
        let message = try await onOwnThread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            second.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(second.terminationStatus != 0)
        #expect(message.contains("another scm-broker (process \(first.processIdentifier)) is serving the data directory"), "\(message)")
        #expect(!message.contains("Usage:"), "a plain reason, not a usage text")
        #expect(try String(contentsOfFile: state, encoding: .utf8) == before, "the first broker's runner state is untouched")
        #expect(!FileManager.default.fileExists(atPath: directory + "/second.sock"))
        // The first broker still serves.
        try await LiveBroker.waitUntilHealthy(firstURL)
    }
}
