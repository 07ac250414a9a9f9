/// One HTTP header line. Headers are kept as an ordered list, not a dictionary: requests are
/// compared exactly in tests and sent in a stable order, and a response may repeat a name.
public struct SCMHTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A request the runner sends to an SCM, built without I/O.
///
/// Token requests carry the client secret, authorization codes and refresh tokens in their
/// headers and body, so `description` shows only the method, URL and header names: printing
/// or logging a request never writes a credential.
public struct SCMHTTPRequest: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The User-Agent every request from the runner carries, so SCM administrators can tell
    /// scm-broker's traffic apart.
    public static let userAgent = "scm-broker-runner"

    /// "GET" or "POST".
    public var method: String
    public var url: String
    /// Ordered as sent.
    public var headers: [SCMHTTPHeader]
    public var body: [UInt8]?

    public init(method: String, url: String, headers: [SCMHTTPHeader], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively as HTTP does.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var description: String {
        "\(method) \(url) [headers: \(headers.map(\.name).joined(separator: ", "))]\(body.map { " [body: \($0.count) bytes]" } ?? "")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["method": method, "url": url, "headers": headers.map(\.name)], displayStyle: .struct)
    }
}

/// What the SCM answered, as the runner's HTTP client received it.
public struct SCMHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [SCMHTTPHeader]
    public var body: [UInt8]

    public init(status: Int, headers: [SCMHTTPHeader] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively as HTTP does.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    /// HTML where JSON was expected: a sign-in page, a proxy's error page or a web UI URL
    /// given as the API URL.
    var looksLikeHTML: Bool {
        if let type = header("Content-Type")?.lowercased(), type.contains("text/html") { return true }
        let start = body.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return start.first == UInt8(ascii: "<")
    }
}
