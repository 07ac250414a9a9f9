import BrokerCore
import Foundation
import GRDB
import SCMProviders

/// The embedded store: one SQLite file in WAL mode, through GRDB.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Overwrite deleted content so removed ciphertext does not linger in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        self.path = path
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(.unavailable, "cannot open the database at \(path): \(Self.describe(error))")
        }
    }

    /// Opens `<dataDirectory>/broker.sqlite`, creating the directory with mode 0700.
    public convenience init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try self.init(path: (dataDirectory as NSString).appendingPathComponent("broker.sqlite"))
    }

    /// The file answers; migrations ran when the store was opened.
    public func checkReady() async throws {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Moves everything from the WAL into the main file (tests scan the file afterwards).
    public func checkpoint() async throws {
        try await pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            throw Self.map(error)
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw Self.map(error)
        }
    }

    private static func map(_ error: DatabaseError) -> StoreError {
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            StoreError(.conflict, "already exists")
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            StoreError(.notFound, "refers to something that no longer exists")
        default:
            StoreError(.unavailable, "database error: \(describe(error))")
        }
    }

    /// SQLite's own message: never includes bound values (secrets travel only as arguments).
    private static func describe(_ error: any Error) -> String {
        (error as? DatabaseError)?.message ?? String(describing: type(of: error))
    }
}
