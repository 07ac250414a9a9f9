import SCMProviders

/// Field rules shared by the admin API.
enum Validation {
    /// Runner and integration names: 1–64 characters of letters, digits, `.`, `_` and `-`,
    /// starting with a letter or digit. They appear in URLs, logs and CLI output.
    static func name(_ value: String, field: String) throws(APIError) -> String {
        let scalars = value.unicodeScalars
        guard (1...64).contains(scalars.count),
              let first = scalars.first, isAlphanumeric(first),
              scalars.allSatisfy({ isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" })
        else {
            throw .invalidRequest("`\(field)` must be 1–64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
        return value
    }

    /// User names the environment service sends: its own ids, or e-mail addresses. 1–128
    /// characters of letters, digits, '.', '_', '-', '@' and '+', starting with a letter or digit.
    static func user(_ value: String, field: String = "user") throws(APIError) -> String {
        let scalars = value.unicodeScalars
        guard (1...128).contains(scalars.count), let first = scalars.first, isAlphanumeric(first),
              scalars.allSatisfy({ isAlphanumeric($0) || "._-@+".unicodeScalars.contains($0) })
        else {
            throw .invalidRequest("`\(field)` must be 1–128 characters of letters, digits, '.', '_', '-', '@' or '+', starting with a letter or digit")
        }
        return value
    }

    static func labels(_ values: [String]?) throws(APIError) -> [String] {
        guard let values else { return [] }
        guard values.count <= 32 else { throw .invalidRequest("at most 32 labels") }
        var seen = Set<String>()
        var labels: [String] = []
        for value in values {
            let scalars = value.unicodeScalars
            guard (1...64).contains(scalars.count),
                  scalars.allSatisfy({ isAlphanumeric($0) || ".-_:/".unicodeScalars.contains($0) })
            else { throw .invalidRequest("labels must be 1–64 characters of letters, digits, '.', '-', '_', ':' or '/'") }
            if seen.insert(value).inserted { labels.append(value) }
        }
        return labels
    }

    static func description(_ value: String?) throws(APIError) -> String {
        guard let value else { return "" }
        guard value.utf8.count <= 8 * 1024 else { throw .invalidRequest("`description` is limited to 8 KiB") }
        guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r") || $0.value == 0x7F }) else {
            throw .invalidRequest("`description` must not contain control characters")
        }
        return value
    }

    /// OAuth client ids are public identifiers: printable ASCII, no spaces.
    static func clientID(_ value: String, field: String) throws(APIError) -> String {
        guard (1...256).contains(value.utf8.count), value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidRequest("`\(field)` must be 1–256 printable ASCII characters without spaces")
        }
        return value
    }

    /// Secrets are opaque, but bounded and free of control characters (a pasted newline is a mistake).
    static func secret(_ value: String, field: String) throws(APIError) -> String {
        switch TokenShape.secretProblem(value, maximumBytes: 4096) {
        case nil: return value
        case .empty, .tooLong: throw .invalidRequest("`\(field)` must be 1–4096 bytes")
        case .controlCharacters, .notVisibleASCII: throw .invalidRequest("`\(field)` must not contain control characters or line breaks")
        case .surroundingSpaces: throw .invalidRequest("`\(field)` must not start or end with spaces")
        }
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
    }
}
