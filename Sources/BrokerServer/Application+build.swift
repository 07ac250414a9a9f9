import BrokerCore
import BrokerSQLite
import Hummingbird
import Logging

public typealias BrokerApplication = Application<RouterResponder<BrokerRequestContext>>

/// Builds the broker: opens the store (embedded SQLite unless one is given), makes sure an
/// admin token exists, and wires the routes. Callable from tests.
public func buildApplication(
    _ configuration: BrokerConfiguration,
    store: (any Store)? = nil,
    clock: BrokerClock = .system,
    logger: Logger = Logger(label: "scm-broker")
) async throws -> BrokerApplication {
    let store = try store ?? SQLiteStore(dataDirectory: configuration.dataDirectory)
    try await AdminTokens.bootstrap(store: store, keysDirectory: configuration.keysDirectory, logger: logger, clock: clock)
    let notifier = JobNotifier()
    let router = buildRouter(configuration, store: store, clock: clock, notifier: notifier)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        logger: logger
    )
    // A database shared with other brokers tells this one about the jobs they queue.
    if let announcements = store as? any JobAnnouncements {
        app.addServices(JobAnnouncementRelay(announcements: announcements, notifier: notifier))
    }
    logger.info("scm-broker ready", metadata: ["public_url": "\(configuration.publicURL)"])
    return app
}

/// The routes, separate from the server.
func buildRouter(_ configuration: BrokerConfiguration, store: any Store, clock: BrokerClock, notifier: JobNotifier) -> Router<BrokerRequestContext> {
    let router = Router(context: BrokerRequestContext.self)
    router.addMiddleware {
        RequestLogger()
        APIErrorMiddleware()
        BearerAuthenticator(store: store, clock: clock)
    }
    HealthController(store: store).addRoutes(to: router)

    let admin = router.group("api/v1", context: AdminContext.self)
    RunnersController(store: store, clock: clock).addRoutes(to: admin)
    IntegrationsController(store: store, clock: clock, publicURL: configuration.publicURL, notifier: notifier,
                           validationTimeout: configuration.credentialValidationTimeout).addRoutes(to: admin)
    ServiceTokensController(store: store, clock: clock).addRoutes(to: admin)
    AuditController(store: store).addRoutes(to: admin)

    let environments = router.group("api/v1", context: EnvironmentServiceContext.self)
    ConnectLinksController(store: store, clock: clock, publicURL: configuration.publicURL).addRoutes(to: environments)
    ConnectionsController(store: store, clock: clock, notifier: notifier).addRoutes(to: environments)
    EnvironmentsController(store: store, clock: clock, publicURL: configuration.publicURL).addRoutes(to: environments)

    ConnectController(store: store, clock: clock, configuration: configuration, notifier: notifier).addRoutes(to: router)

    let runnerPublic = router.group("runner/v1")
    RunnerRegistrationController(store: store, clock: clock).addRoutes(to: runnerPublic)
    RunnerTokenController(store: store, clock: clock, tokenEndpoint: configuration.tokenEndpoint).addRoutes(to: runnerPublic)
    let runner = router.group("runner/v1", context: RunnerContext.self)
    RunnerIntegrationsController(store: store, publicURL: configuration.publicURL).addRoutes(to: runner)
    RunnerJobsController(store: store, clock: clock, configuration: configuration, notifier: notifier).addRoutes(to: runner)
    RunnerEnvironmentsController(store: store, clock: clock, publicURL: configuration.publicURL).addRoutes(to: runner)
    return router
}
