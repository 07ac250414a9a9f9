import BrokerCore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The store for several brokers: PostgreSQL through postgres-nio's connection pool.
///
/// Every write runs as one SERIALIZABLE transaction, retried when PostgreSQL reports a
/// serialization failure: two brokers (or two requests) that race for the same ticket, lease or
/// job see the same outcomes the single-writer SQLite store gives, which the shared conformance
/// suite checks. Times are kept as seconds since 1970 (double precision), as in SQLite.
public final class PostgresStore: Store, Service {
    let client: PostgresClient
    let logger: Logger
    /// See `PostgresSettings.operationTimeout`.
    let operationTimeout: Duration
    let jobChannel: String
    /// The pool's own run loop. postgres-nio's client needs one for as long as it is used; the
    /// store owns it so that it works wherever a store does (the server, tests, the benchmark,
    /// one-off commands) and ends it in `shutdown()`.
    private let runner: Task<Void, Never>

    /// Connects (lazily: the first statement opens the first connection) and brings the schema
    /// to the current version; two brokers starting at once migrate once.
    public static func connect(_ settings: PostgresSettings, migrate: Bool = true,
                               logger: Logger = Logger(label: "scm-broker.postgres")) async throws -> PostgresStore {
        let store = PostgresStore(client: PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger),
                                  logger: logger, operationTimeout: settings.operationTimeout,
                                  jobChannel: Self.jobChannel(schema: settings.schema))
        guard migrate else { return store }
        do {
            try await store.migrate()
        } catch let error as PSQLError {
            store.shutdown()
            throw Self.map(error)
        } catch {
            store.shutdown()
            throw error
        }
        return store
    }

    /// A store in a schema of its own, created if missing: several deployments (or tests)
    /// sharing one database.
    public static func connect(_ settings: PostgresSettings, creatingSchema schema: String,
                               logger: Logger = Logger(label: "scm-broker.postgres")) async throws -> PostgresStore {
        let admin = try await connect(settings, migrate: false, logger: logger)
        defer { admin.shutdown() }
        try await admin.createSchema(schema)
        var settings = settings
        settings.schema = schema
        return try await connect(settings, logger: logger)
    }

    /// Creates a schema (for a store of its own in a shared database, as tests use).
    public func createSchema(_ name: String) async throws {
        guard !name.isEmpty, name.utf8.count <= 63, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F })
        else { throw StoreError(.unavailable, "a schema name is 1–63 characters of a–z, 0–9 and _") }
        try await write { db in try await db.execute("CREATE SCHEMA IF NOT EXISTS \(name)") }
    }

    private init(client: PostgresClient, logger: Logger, operationTimeout: Duration, jobChannel: String) {
        self.client = client
        self.logger = logger
        self.operationTimeout = operationTimeout
        self.jobChannel = jobChannel
        runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Closes the pool.
    public func shutdown() {
        runner.cancel()
    }

    /// As a service: keeps the pool until a graceful shutdown, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }

    /// The database answers and every migration has been applied.
    public func checkReady() async throws {
        guard try await isMigrated() else { throw StoreError(.unavailable, "the database schema is not the current one") }
    }

    // MARK: Transactions

    /// How often a write is tried when PostgreSQL reports it conflicted with a concurrent one.
    static let maximumAttempts = 8

    /// Runs `body` as one SERIALIZABLE transaction, retrying it (from the start) after a
    /// serialization failure or deadlock.
    @discardableResult
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLSession) async throws -> T) async throws -> T {
        try await bounded {
            var attempt = 0
            while true {
                attempt += 1
                do {
                    return try await self.client.withConnection { connection in
                        let session = SQLSession(connection: connection, logger: self.logger, jobChannel: self.jobChannel)
                        try await session.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                        do {
                            let result = try await body(session)
                            try await session.execute("COMMIT")
                            return result
                        } catch {
                            _ = try? await session.execute("ROLLBACK")
                            throw error
                        }
                    }
                } catch let error as PSQLError where Self.isRetryable(error) && attempt < Self.maximumAttempts {
                    // Back off a little, differently each time, so the racers do not collide again.
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                }
            }
        }
    }

    /// Runs `body` on one connection outside a transaction: single statements that only read.
    func read<T: Sendable>(_ body: @escaping @Sendable (SQLSession) async throws -> T) async throws -> T {
        try await bounded {
            try await self.client.withConnection { connection in
                try await body(SQLSession(connection: connection, logger: self.logger, jobChannel: self.jobChannel))
            }
        }
    }

    /// Forgets expired rows in a statement of its own, after (or before) the operation that used
    /// to do it inside its transaction: inside, every two concurrent SERIALIZABLE writers would
    /// read what the other deletes and one would have to retry. Best effort: the next one tries again.
    func cleanUp(_ sql: String, _ arguments: [any SQLBindable]) async {
        do {
            try await read { db in try await db.execute(sql, arguments) }
        } catch {
            logger.debug("clean-up skipped", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    /// Runs `operation` within `operationTimeout`, with every failure as a `StoreError` that
    /// names no value (PostgreSQL's own messages may quote them).
    private func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: self.operationTimeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let result = first else {
                    throw StoreError(.unavailable, "the database did not answer within \(self.operationTimeout)")
                }
                return result
            }
        } catch let error as StoreError {
            throw error
        } catch let error as PSQLError {
            throw Self.map(error)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // The pool could not get a connection (refused, TLS required but not offered, wrong
            // credentials): named by type only.
            throw StoreError(.unavailable, "the database cannot be reached (\(type(of: error)))")
        }
    }

    static func isRetryable(_ error: PSQLError) -> Bool {
        let state = error.serverInfo?[.sqlState]
        return state == "40001" || state == "40P01"
    }

    /// Only the SQLSTATE and constraint name are used: PostgreSQL's detail text may quote values.
    static func map(_ error: PSQLError) -> StoreError {
        switch error.serverInfo?[.sqlState] {
        case "23505": StoreError(.conflict, "already exists")
        case "23503": StoreError(.notFound, "refers to something that no longer exists")
        case let state?: StoreError(.unavailable, "database error (SQLSTATE \(state))")
        case nil: StoreError(.unavailable, "the database cannot be reached (\(error.code))")
        }
    }
}
