import Foundation

/// What git asks a credential helper (`protocol`, `host`, `path` lines on stdin), and whether
/// it names a given clone URL. Without `credential.useHttpPath=true` git sends no path, and a
/// helper that answered anyway would hand one repository's token to any repository on the host.
public struct GitCredentialRequest: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var path: String?

    public init(scheme: String, host: String, path: String?) {
        self.scheme = scheme
        self.host = host
        self.path = path
    }

    /// Reads git's `key=value` lines. Nil without `protocol` or `host`.
    public static func parse(_ text: String) -> GitCredentialRequest? {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let scheme = fields["protocol"], let host = fields["host"], !scheme.isEmpty, !host.isEmpty else { return nil }
        return GitCredentialRequest(scheme: scheme, host: host, path: fields["path"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Whether this request is for `cloneURL` exactly: same scheme, host (and port) and
    /// repository path, compared case-insensitively after percent-decoding, ignoring a trailing
    /// `/` or `.git`. A request without a path matches nothing.
    public func names(cloneURL: String) -> Bool {
        guard let path, let clone = URLComponents(string: cloneURL), let cloneScheme = clone.scheme, let cloneHost = clone.host else {
            return false
        }
        let cloneAuthority = cloneHost + (clone.port.map { ":\($0)" } ?? "")
        guard let askedPath = Self.normalizedPath(path), let grantedPath = Self.normalizedPath(clone.percentEncodedPath) else { return false }
        return scheme.lowercased() == cloneScheme.lowercased()
            && Self.normalizedHost(host) == Self.normalizedHost(cloneAuthority)
            && askedPath == grantedPath
    }

    static func normalizedHost(_ host: String) -> String {
        var host = host.lowercased()
        if let at = host.lastIndex(of: "@") { host = String(host[host.index(after: at)...]) }
        if host.hasSuffix(":443") || host.hasSuffix(":80") { host = String(host[..<host.lastIndex(of: ":")!]) }
        return host
    }

    static func normalizedPath(_ path: String) -> String? {
        guard var decoded = path.removingPercentEncoding?.lowercased() else { return nil }
        while decoded.hasPrefix("/") { decoded.removeFirst() }
        while decoded.hasSuffix("/") { decoded.removeLast() }
        if decoded.hasSuffix(".git") { decoded.removeLast(4) }
        guard !decoded.isEmpty, !decoded.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else { return nil }
        return decoded
    }
}

extension RepositoryURL {
    /// The path below the origin, e.g. `/contoso/web/_git/portal` or `/octo/app`.
    public var pathBelowOrigin: String {
        String(string.dropFirst(organization.origin.count))
    }

    /// Where git reaches the repository: `gitBase` (an integration's git URL) or the
    /// repository's own origin, followed by its path.
    public func cloneURL(gitBase: String?) -> String {
        var base = gitBase ?? organization.origin
        while base.hasSuffix("/") { base.removeLast() }
        return base + pathBelowOrigin
    }
}
