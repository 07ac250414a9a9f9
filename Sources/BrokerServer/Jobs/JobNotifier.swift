import Foundation
import ServiceLifecycle

/// Wakes a runner's held job poll as soon as a job is queued for it, in this process or (through
/// the store's job announcements) by another broker sharing the database. Polls still recheck
/// the store periodically, which covers leases that run out and announcements lost while the
/// database was unreachable.
final class JobNotifier: @unchecked Sendable {
    private let lock = NSLock()
    private var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]

    /// Returns when a job is queued for `runnerID`, after `timeout`, or at a graceful shutdown
    /// (held polls are answered then, instead of keeping the broker up for their whole wait).
    func wait(runnerID: String, timeout: Duration) async {
        let id = UUID()
        await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.withLock { waiters[runnerID, default: [:]][id] = continuation }
                Task {
                    try? await Task.sleep(for: timeout)
                    self.resume(runnerID: runnerID, id: id)
                }
            }
        } onGracefulShutdown: {
            self.resume(runnerID: runnerID, id: id)
        }
    }

    func notify(runnerID: String) {
        let pending = lock.withLock { waiters.removeValue(forKey: runnerID) }
        for continuation in pending?.values.map({ $0 }) ?? [] { continuation.resume() }
    }

    private func resume(runnerID: String, id: UUID) {
        let continuation = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            let continuation = waiters[runnerID]?.removeValue(forKey: id)
            if waiters[runnerID]?.isEmpty == true { waiters[runnerID] = nil }
            return continuation
        }
        continuation?.resume()
    }
}
