/// A store shared by several brokers announces every queued job, so that a runner's poll held
/// by one broker wakes at once when another broker queues its job (a browser's callback landing
/// on a different replica than the runner's poll). The embedded store serves one broker, whose
/// in-process notifier is enough, and does not conform.
public protocol JobAnnouncements: Sendable {
    /// Calls `handler` with the runner id of every job queued from now on, by any broker, until
    /// the calling task is cancelled. Announcements missed while the database was unreachable
    /// are not replayed: held polls also recheck the queue periodically.
    func followJobAnnouncements(_ handler: @escaping @Sendable (String) async -> Void) async
}
