import BrokerCore
import Foundation
import NIOSSL
import PostgresNIO

/// Where the PostgreSQL store is: a `postgres://user[:password]@host[:port]/database` URL
/// (`postgresql://` too), with `sslmode=disable|prefer|require|verify-full` honoured as libpq
/// does (`prefer` and `require` encrypt without checking the certificate: use `verify-full`,
/// with `sslrootcert=/path/ca.pem` for a private CA, in production; `verify-ca` is treated as
/// `verify-full`, the stricter). The password may come from a file
/// instead of the URL (a Kubernetes secret). Nothing here ever prints the password.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    var password: String?
    public var database: String
    public var tls: TLSMode
    /// A schema to use instead of `public` (tests give each store its own).
    public var schema: String?
    public var maximumConnections = 20
    /// A PEM file of CA certificates to verify the server against (`sslrootcert`); the system's otherwise.
    public var rootCertificates: String?
    /// How long a store operation may take, waiting for a connection included: a database that
    /// does not answer (down, refusing to talk without TLS, wrong credentials) fails requests and
    /// readiness probes in bounded time instead of holding them.
    public var operationTimeout: Duration = .seconds(20)

    /// Parses a database URL; `passwordFile`, when given, holds the password (trailing newline ignored).
    public init(url: String, passwordFile: String? = nil) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql"
        else { throw StoreError(.unavailable, "the database URL must be postgres://user@host:port/database") }
        guard let host = components.host, !host.isEmpty else { throw StoreError(.unavailable, "the database URL names no host") }
        guard let username = components.user, !username.isEmpty else { throw StoreError(.unavailable, "the database URL names no user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw StoreError(.unavailable, "the database URL names no database") }
        self.host = host
        port = components.port ?? 5432
        // URLComponents has already percent-decoded user, password and path.
        self.username = username
        self.database = database
        password = components.password
        tls = .prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let value = item.value ?? ""
                guard let mode = value == "verify-ca" ? .verifyFull : TLSMode(rawValue: value) else {
                    throw StoreError(.unavailable, "sslmode must be one of disable, prefer, require, verify-full")
                }
                tls = mode
            case "search_path", "schema":
                schema = item.value
            case "sslrootcert":
                // The CA certificates (PEM) a verify-full connection trusts, e.g. a managed database's CA bundle.
                rootCertificates = item.value
            default:
                throw StoreError(.unavailable, "unknown database URL parameter \(item.name.prefix(32))")
            }
        }
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw StoreError(.unavailable, "cannot read the database password file \(passwordFile)")
            }
            password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
    }

    /// The URL without the password, for logs.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)\(schema.map { "&search_path=\($0)" } ?? "")"
    }

    func clientConfiguration() throws -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch self.tls {
        case .disable:
            tls = .disable
        case .prefer:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = .prefer(configuration)
        case .require:
            // libpq's `require`: encrypted, but the server's certificate is not checked.
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = .require(configuration)
        case .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            if let rootCertificates { configuration.trustRoots = .file(rootCertificates) }
            tls = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        // The server ends a statement (and an idle transaction) that runs away, so that an
        // operation's own deadline is not the only bound.
        let seconds = operationTimeout.components.seconds
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(seconds * 1000)"),
            ("idle_in_transaction_session_timeout", "\(seconds * 2000)"),
        ]
        if let schema {
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        return configuration
    }
}
