import BrokerCrypto
import Foundation

/// What `scm-runner register` remembers: which broker, and the runner id it assigned.
/// Kept beside the keys in `<keys-dir>/runner.json`.
public struct RunnerState: Codable, Sendable, Equatable {
    public static let fileName = "runner.json"

    public var runnerID: String
    public var brokerURL: String

    enum CodingKeys: String, CodingKey {
        case runnerID = "runner_id"
        case brokerURL = "broker_url"
    }

    public init(runnerID: String, brokerURL: String) {
        self.runnerID = runnerID
        self.brokerURL = brokerURL
    }

    public func save(in directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try KeyFile.write(String(decoding: try encoder.encode(self), as: UTF8.self) + "\n",
                          to: RunnerKeys.path(directory, Self.fileName), overwrite: true)
    }

    public static func load(from directory: String) throws -> RunnerState {
        let path = RunnerKeys.path(directory, fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunnerError("\(path) not found; run `scm-runner register` first")
        }
        do {
            return try JSONDecoder().decode(RunnerState.self, from: Data(try KeyFile.read(path).utf8))
        } catch let error as CryptoError {
            throw RunnerError(error.message)
        } catch {
            throw RunnerError("\(path) is not valid runner state")
        }
    }
}
