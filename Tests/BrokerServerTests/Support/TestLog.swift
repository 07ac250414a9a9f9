import Foundation
import Logging

/// Captures every log line (message and metadata, at trace level) so tests can assert what
/// the broker logs, and that no secret is among it.
final class TestLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var text: String {
        lock.withLock { lines.joined(separator: "\n") }
    }

    func append(_ line: String) {
        lock.withLock { lines.append(line) }
    }

    func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(log: self) }
    }

    private struct Handler: LogHandler {
        let log: TestLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            log.append("\(event.level) \(event.message) \(merged) \(event.source) \(event.error.map { "\($0)" } ?? "")")
        }
    }
}
