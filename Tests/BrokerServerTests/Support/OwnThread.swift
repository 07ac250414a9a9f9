import Foundation

/// Runs blocking work (waiting for a process, reading its output) on a thread of its own:
/// blocking one of Swift concurrency's few threads would starve the servers the test talks to.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
