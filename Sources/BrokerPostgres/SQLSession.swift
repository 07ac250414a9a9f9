import BrokerCore
import Foundation
import Logging
import PostgresNIO

/// One connection inside one transaction (or one autocommit read): statements are written with
/// `?` placeholders, like the SQLite store's, and values are always bound, never spliced, so no
/// secret ever becomes part of a statement's text.
struct SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    /// Where this store announces queued jobs.
    let jobChannel: String

    /// Runs a statement; returns how many rows it changed (or returned).
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLBindable] = []) async throws -> Int {
        try await run(sql, arguments).metadata.rows ?? 0
    }

    func fetchAll(_ sql: String, _ arguments: [any SQLBindable] = []) async throws -> [SQLRow] {
        try await run(sql, arguments).rows.map { SQLRow(row: $0.makeRandomAccess()) }
    }

    func fetchOne(_ sql: String, _ arguments: [any SQLBindable] = []) async throws -> SQLRow? {
        try await fetchAll(sql, arguments).first
    }

    /// `SELECT EXISTS(…)`.
    func exists(_ sql: String, _ arguments: [any SQLBindable] = []) async throws -> Bool {
        try await fetchOne(sql, arguments)?.value(at: 0) ?? false
    }

    private func run(_ sql: String, _ arguments: [any SQLBindable]) async throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments { argument.bind(to: &bindings) }
        let query = PostgresQuery(unsafeSQL: Self.numberedPlaceholders(sql), binds: bindings)
        return try await connection.query(query, logger: logger).get()
    }

    /// `?` → `$1`, `$2`, … outside string literals.
    static func numberedPlaceholders(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var inLiteral = false
        for character in sql {
            if character == "'" { inLiteral.toggle() }
            if character == "?", !inLiteral {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// A row, read by column name.
struct SQLRow {
    let row: PostgresRandomAccessRow

    /// The column's value; a NULL or a value of another type is a `StoreError` (the schema
    /// makes both impossible for the columns read this way).
    subscript<T: PostgresDecodable>(_ column: String) -> T {
        get throws {
            do {
                return try row[column].decode(T.self)
            } catch {
                throw StoreError(.unavailable, "the database column \(column) holds an unexpected value")
            }
        }
    }

    func value<T: PostgresDecodable>(at index: Int) throws -> T {
        do {
            return try row[index].decode(T.self)
        } catch {
            throw StoreError(.unavailable, "the database answered an unexpected value")
        }
    }

    /// A time stored as seconds since 1970 (as the SQLite store keeps them: equal `Date`s
    /// round-trip exactly).
    func date(_ column: String) throws -> Date {
        Date(timeIntervalSince1970: try self[column] as Double)
    }

    func optionalDate(_ column: String) throws -> Date? {
        (try self[column] as Double?).map(Date.init(timeIntervalSince1970:))
    }

    /// A JSON array of strings kept as text.
    func strings(_ column: String) throws -> [String] {
        let text: String = try self[column]
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

/// What can be bound to a `?`.
protocol SQLBindable: Sendable {
    func bind(to bindings: inout PostgresBindings)
}

extension String: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Double: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int64: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Bool: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(self) }
}

/// Times are bound as seconds since 1970, the unit every time column holds.
extension Date: SQLBindable {
    func bind(to bindings: inout PostgresBindings) { bindings.append(timeIntervalSince1970) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    func bind(to bindings: inout PostgresBindings) {
        switch self {
        case .some(let value): value.bind(to: &bindings)
        case .none: bindings.appendNull()
        }
    }
}

/// A JSON array of strings, kept as text (labels, scopes).
struct JSONStrings: SQLBindable {
    let values: [String]

    init(_ values: [String]) { self.values = values }

    func bind(to bindings: inout PostgresBindings) {
        bindings.append(String(decoding: (try? JSONEncoder().encode(values)) ?? Data("[]".utf8), as: UTF8.self))
    }
}
