import Foundation

/// `application/x-www-form-urlencoded` bodies. A parameter sent twice is refused, as
/// RFC 6749 §3.2 requires of token requests.
enum FormBody {
    static func parse(_ bytes: [UInt8]) throws -> [String: String] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw OAuthError(.badRequest, "invalid_request", "the body is not UTF-8")
        }
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count == 2 ? parts[1] : "") else {
                throw OAuthError(.badRequest, "invalid_request", "the body is not valid form encoding")
            }
            guard fields.updateValue(value, forKey: name) == nil else {
                throw OAuthError(.badRequest, "invalid_request", "parameter \(name.prefix(40)) is repeated")
            }
        }
        return fields
    }

    private static func decode(_ part: Substring) -> String? {
        part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
