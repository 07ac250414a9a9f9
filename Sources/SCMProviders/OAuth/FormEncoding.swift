import Foundation

/// Strict `application/x-www-form-urlencoded` and query-string encoding.
///
/// Only RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) stay as they are; every other
/// byte of the UTF-8 form is percent-encoded, `+ / = & ? %` and space included. Foundation's
/// `CharacterSet.urlQueryAllowed` keeps `+`, `/`, `=` and `&`, which servers then read as a
/// space or a field separator: a client secret or refresh token containing them would arrive
/// corrupted. Space is `%20`, never `+`, which every form parser accepts.
enum FormEncoding {
    static func percentEncode(_ text: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&…` in the given order.
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }

    /// Parses a form body (`+` is a space here, as the form format says). Nil when a
    /// percent escape is malformed or does not decode to UTF-8.
    static func decode(_ text: String) -> [(String, String)]? {
        var fields: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]), let value = unescape(parts.count > 1 ? parts[1] : "") else { return nil }
            fields.append((name, value))
        }
        return fields
    }

    private static func unescape(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}
