import ArgumentParser
import BrokerCore
import BrokerPostgres
import BrokerSQLite
import Logging
import ServiceLifecycle

/// Which store the broker uses: PostgreSQL when a database URL is given, else the embedded
/// SQLite database in the data directory.
struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PostgreSQL to use instead of the embedded SQLite store (SCM_BROKER_DATABASE_URL).",
        discussion: "postgres://user@host:5432/database?sslmode=require (disable, prefer, require, verify-full). Several brokers may share it.",
        valueName: "url"))
    var databaseURL: String? = environment("SCM_BROKER_DATABASE_URL")

    @Option(help: "A file holding the PostgreSQL password, e.g. a mounted Kubernetes secret (SCM_BROKER_DATABASE_PASSWORD_FILE).")
    var databasePasswordFile: String? = environment("SCM_BROKER_DATABASE_PASSWORD_FILE")

    struct Opened {
        var store: any Store
        /// Runs beside the server and closes the store at shutdown (PostgreSQL's pool).
        var service: (any Service)?
        /// Held while the process serves the SQLite store.
        var lock: BrokerLock?
        var close: () -> Void
    }

    /// Opens the store. `serving`: a broker that serves requests (an SQLite data directory is
    /// then locked to it); not for one-off commands such as `admin-token create`.
    func openStore(dataDirectory: String, serving: Bool, logger: Logger) async throws -> Opened {
        if let databaseURL {
            let settings: PostgresSettings
            do {
                settings = try PostgresSettings(url: databaseURL, passwordFile: databasePasswordFile)
            } catch let error as StoreError {
                throw ValidationError("--database-url: \(error.message)")
            }
            let store = try await PostgresStore.connect(settings, logger: logger)
            logger.info("store: PostgreSQL", metadata: ["database": "\(settings)"])
            return Opened(store: store, service: store, lock: nil, close: { store.shutdown() })
        }
        guard databasePasswordFile == nil else { throw ValidationError("--database-password-file goes with --database-url") }
        var lock: BrokerLock?
        if serving {
            do {
                lock = try BrokerLock(dataDirectory: dataDirectory)
            } catch let error as StoreError {
                throw StartupError(error.message)
            }
        }
        let store = try SQLiteStore(dataDirectory: dataDirectory)
        logger.info("store: embedded SQLite", metadata: ["path": "\(store.path)"])
        return Opened(store: store, service: nil, lock: lock, close: {})
    }
}

/// A reason the broker cannot start, said plainly (no usage text, exit status 1).
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
