import Foundation

/// A URL taken apart into what provider rules need: origin, decoded path segments and the
/// user name (which Azure DevOps uses for the organization). https and SCP-style SSH forms
/// are accepted; SSH maps to the https origin of the same host.
struct SCMLocation: Equatable {
    var origin: String
    var host: String
    var user: String?
    var segments: [String]
    var isSSH: Bool

    static func parse(_ raw: String) throws(SCMURLError) -> SCMLocation {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.count <= 2048, !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .notAURL
        }
        if let scp = scpStyle(text) { return scp }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let rawHost = components.host?.lowercased(), !rawHost.isEmpty
        else { throw .notAURL }
        // Foundation on Linux returns IPv6 hosts with their brackets, elsewhere without.
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        guard components.password == nil else { throw .credentialsInURL }
        guard components.query == nil, components.fragment == nil else { throw .queryOrFragment }
        let segments = try decodeSegments(components.percentEncodedPath)
        switch scheme {
        case "https":
            break
        case "http":
            guard isLoopback(host) else { throw .insecure }
        case "ssh":
            return SCMLocation(origin: "https://" + host, host: host, user: components.user, segments: segments, isSSH: true)
        default:
            throw .notAURL
        }
        var origin = scheme + "://" + (host.contains(":") ? "[\(host)]" : host)
        if let port = components.port, port != (scheme == "https" ? 443 : 80) { origin += ":\(port)" }
        return SCMLocation(origin: origin, host: host, user: components.user, segments: segments, isSSH: false)
    }

    /// `user@host:path` (git's SCP-like SSH syntax).
    private static func scpStyle(_ text: String) -> SCMLocation? {
        guard !text.contains("://"), let at = text.firstIndex(of: "@"),
              let colon = text[at...].firstIndex(of: ":")
        else { return nil }
        let user = String(text[..<at])
        let host = text[text.index(after: at)..<colon].lowercased()
        // A colon in the user part is a password (`user:token@host:path`): never accept one.
        guard !user.isEmpty, !user.contains(":"), !host.isEmpty, !host.contains("/"),
              let segments = try? decodeSegments(String(text[text.index(after: colon)...]))
        else { return nil }
        return SCMLocation(origin: "https://" + host, host: host, user: user, segments: segments, isSSH: true)
    }

    private static func decodeSegments(_ encodedPath: String) throws(SCMURLError) -> [String] {
        var segments: [String] = []
        for piece in encodedPath.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = piece.removingPercentEncoding, !decoded.isEmpty, decoded != ".", decoded != "..",
                  !decoded.contains("/"), !decoded.unicodeScalars.contains(where: { $0.value < 0x20 })
            else { throw SCMURLError("the URL path has an invalid segment") }
            segments.append(decoded)
        }
        return segments
    }

    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
