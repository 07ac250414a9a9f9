import Foundation

/// Wakes a runner's held job poll as soon as a job is queued for it, in this process or (through
/// the store's job announcements) by another broker sharing the database. Polls still recheck
/// the store periodically, which covers leases that run out and announcements lost while the
/// database was unreachable.
actor JobNotifier {
    private var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]

    /// Returns when a job is queued for `runnerID` or after `timeout`, whichever is first.
    func wait(runnerID: String, timeout: Duration) async {
        let id = UUID()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters[runnerID, default: [:]][id] = continuation
            Task {
                try? await Task.sleep(for: timeout)
                self.resume(runnerID: runnerID, id: id)
            }
        }
    }

    func notify(runnerID: String) {
        guard let pending = waiters.removeValue(forKey: runnerID) else { return }
        for continuation in pending.values { continuation.resume() }
    }

    private func resume(runnerID: String, id: UUID) {
        guard let continuation = waiters[runnerID]?.removeValue(forKey: id) else { return }
        if waiters[runnerID]?.isEmpty == true { waiters[runnerID] = nil }
        continuation.resume()
    }
}
