import Foundation

/// Shared mutable state behind a lock. The only `@unchecked Sendable` in the fake: every
/// access goes through `withLock`.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

enum Random {
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func base64URL(bytes count: Int) -> String {
        Base64URL.encode(bytes(count))
    }

    static func hex(bytes count: Int) -> String {
        bytes(count).map { String(format: "%02x", $0) }.joined()
    }

    static func alphanumeric(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func guid() -> String {
        UUID().uuidString.lowercased()
    }
}

/// A stable GUID-shaped string derived from `text` (lower case, 8-4-4-4-12).
func derivedGUID(_ text: String) -> String {
    let hex = Digest.sha256(Array(text.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    let chars = Array(hex)
    return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
}

/// A stable positive number derived from `text`.
func derivedNumber(_ text: String) -> Int {
    let digest = Digest.sha256(Array(text.utf8))
    let value = digest.prefix(4).reduce(0) { ($0 << 8) | Int($1) }
    return 1_000_000 + value % 90_000_000
}

/// JSON written by hand so that key order, and numbers versus strings, are exactly as the
/// providers send them (legacy Azure DevOps sends `expires_in` as a string).
indirect enum JSON: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .string(let value): JSON.quote(value, into: &out)
        case .int(let value): out += String(value)
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let values):
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                value.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, (name, value)) in members.enumerated() {
                if index > 0 { out += "," }
                JSON.quote(name, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

/// `application/x-www-form-urlencoded`, also used for query strings.
enum Form {
    enum Failure: Error, Equatable {
        case malformed
        case repeated(String)
    }

    /// Parses `text`; a name given twice is an error (RFC 6749 §3.1, §3.2).
    static func parse(_ text: String) -> Result<[String: String], Failure> {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else {
                return .failure(.malformed)
            }
            guard fields.updateValue(value, forKey: name) == nil else { return .failure(.repeated(name)) }
        }
        return .success(fields)
    }

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if PKCE.isUnreserved(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    private static func unescape(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

func htmlEscape(_ text: String) -> String {
    var out = ""
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(character)
        }
    }
    return out
}

/// A request as the fake's handlers see it: no I/O, so handlers run under the state lock.
struct FakeRequest: Sendable {
    var method: String
    /// Raw path, still percent-encoded.
    var path: String
    var query: String?
    /// Lower-cased header names.
    var headers: [String: [String]]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers[name.lowercased()]?.first
    }

    var segments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// True when `Content-Type` is form encoding (parameters such as charset allowed).
    var hasFormContentType: Bool {
        guard let type = header("content-type") else { return false }
        let media = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return media.lowercased() == "application/x-www-form-urlencoded"
    }

    /// True when the client asked for JSON.
    var acceptsJSON: Bool {
        guard let accept = header("accept")?.lowercased() else { return false }
        return accept.contains("application/json")
    }

    /// `Authorization: <scheme> <credentials>` with the scheme lower-cased.
    var authorization: (scheme: String, credentials: String)? {
        guard let value = header("authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return nil }
        return (parts[0].lowercased(), parts[1].trimmingCharacters(in: .whitespaces))
    }

    /// `Authorization: Basic base64(user:password)`, split at the first colon (the user name
    /// may be empty: `curl -u :PAT`).
    var basicCredentials: (username: String, password: String)? {
        guard let (scheme, credentials) = authorization, scheme == "basic",
              let data = Data(base64Encoded: credentials), let decoded = String(data: data, encoding: .utf8),
              let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }

    /// GitLab's PAT credentials: `PRIVATE-TOKEN`, else `Authorization: Bearer`.
    var gitlabPAT: String? {
        if let token = header("private-token") { return token.trimmingCharacters(in: .whitespaces) }
        if let (scheme, token) = authorization, scheme == "bearer" { return token }
        return nil
    }

    /// The query's fields; nil when it is malformed or repeats a name.
    var queryFields: [String: String]? {
        guard let query, !query.isEmpty else { return [:] }
        if case .success(let fields) = Form.parse(query) { return fields }
        return nil
    }
}

struct FakeResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    static func json(_ status: Int, _ value: JSON, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: value.text)
    }

    static func html(_ status: Int, title: String, message: String, headers: [(String, String)] = []) -> FakeResponse {
        let body = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>\(htmlEscape(title))</title></head>
        <body><h1>\(htmlEscape(title))</h1><p>\(htmlEscape(message))</p></body></html>

        """
        return FakeResponse(status: status, headers: [("Content-Type", "text/html; charset=utf-8")] + headers, body: body)
    }

    static func text(_ status: Int, _ text: String, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")] + headers, body: text)
    }

    static func redirect(_ location: String) -> FakeResponse {
        FakeResponse(status: 302, headers: [("Location", location), ("Cache-Control", "no-store")], body: "")
    }

    static let notFound = FakeResponse.text(404, "Not Found")

    static func methodNotAllowed(_ allowed: String) -> FakeResponse {
        .text(405, "Method Not Allowed", headers: [("Allow", allowed)])
    }
}
