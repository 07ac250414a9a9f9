import BrokerCore
import Foundation
import PostgresNIO

extension PostgresStore: JobAnnouncements {
    /// The channel `insert(_ job:)` notifies, with the runner id as payload: one per schema, so
    /// that deployments sharing a database do not wake each other.
    static func jobChannel(schema: String?) -> String {
        "scm_broker_jobs_" + (schema ?? "public")
    }

    /// LISTENs on one pooled connection; when it breaks (the database restarted, the network
    /// dropped), listens again after a pause that grows up to 5 seconds.
    public func followJobAnnouncements(_ handler: @escaping @Sendable (String) async -> Void) async {
        var pause: Duration = .milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: jobChannel) { notifications in
                        pause = .milliseconds(100)
                        for try await notification in notifications {
                            await handler(notification.payload)
                        }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                guard !Task.isCancelled else { return }
                logger.warning("job announcements interrupted; listening again", metadata: ["error.type": "\(type(of: error))"])
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(5))
        }
    }
}
