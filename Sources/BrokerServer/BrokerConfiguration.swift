import Foundation

/// How the broker runs. Defaults work with no flags on one machine.
public struct BrokerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The URL users and runners reach the broker at; callback URLs and the token audience derive from it.
    public var publicURL: String
    public var dataDirectory: String
    public var keysDirectory: String
    /// How long a runner process holds a job before it goes back to the queue.
    public var jobLeaseDuration: TimeInterval = 60
    /// How long a callback waits for the runner to pick up the exchange before the page says
    /// the runner is offline.
    public var runnerOfflineTimeout: TimeInterval = 60
    /// How long an admin request waits for the runner to validate organization credentials.
    public var credentialValidationTimeout: TimeInterval = 45
    /// The longest a runner's job poll is held open.
    public var maximumPollWait: TimeInterval = 30
    /// How often a held poll rechecks the queue by itself, besides being woken when a job is
    /// queued: leases that run out, and announcements lost while the database was unreachable.
    public var pollRecheckInterval: TimeInterval = 1

    public init(host: String = "127.0.0.1", port: Int = 8080, publicURL: String? = nil,
                dataDirectory: String = "./data", keysDirectory: String = "./keys") throws {
        self.host = host
        self.port = port
        self.publicURL = try Self.normalizedPublicURL(publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
        self.dataDirectory = dataDirectory
        self.keysDirectory = keysDirectory
    }

    /// The audience runner assertions must name.
    public var tokenEndpoint: String { publicURL + "/runner/v1/token" }

    /// Browser cookies are `Secure` when users reach the broker over https.
    public var usesHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }

    static func normalizedPublicURL(_ text: String) throws -> String {
        var trimmed = text.trimmingCharacters(in: .whitespaces)
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", components.host?.isEmpty == false,
              components.query == nil, components.fragment == nil, components.user == nil
        else { throw ConfigurationError("--public-url must be an absolute http(s) URL without query, fragment or credentials") }
        return trimmed
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
