import BrokerCore
import ServiceLifecycle

/// Wakes this broker's held polls for jobs other brokers queue: what the store announces goes
/// to the in-process notifier. Runs beside the server until a graceful shutdown.
struct JobAnnouncementRelay: Service {
    let announcements: any JobAnnouncements
    let notifier: JobNotifier

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await announcements.followJobAnnouncements { runnerID in
                notifier.notify(runnerID: runnerID)
            }
        }
    }
}
