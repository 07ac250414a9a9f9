import Foundation

/// Cleaning SCM text before it reaches a person, a log or a web page.
extension OAuthFailure {
    static let maximumDescriptionLength = 300

    /// The SCM's error description made safe to show: control and bidirectional-override
    /// characters removed (line breaks and tabs become spaces), so a description cannot forge
    /// log lines, drive a terminal or reorder what is shown; whitespace collapsed; values from `secrets` and
    /// token-like words replaced by "[redacted]", and at most 300 characters. Nil when
    /// nothing is left.
    static func clean(_ text: String, redacting secrets: [String] = []) -> String? {
        let secrets = secrets.filter { $0.count >= 6 }
        // Secrets are replaced before and after normalising whitespace, so that neither a
        // secret containing a line break nor one split by the normalisation survives.
        var cleaned = redactTokenLikeWords(in: normalize(redact(secrets, in: text)))
        cleaned = redact(secrets, in: cleaned)
        guard !cleaned.isEmpty else { return nil }
        if cleaned.count > maximumDescriptionLength {
            cleaned = String(cleaned.prefix(maximumDescriptionLength - 1)).trimmingCharacters(in: .whitespaces) + "…"
        }
        return cleaned
    }

    private static func redact(_ secrets: [String], in text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
    }

    private static func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            // Line breaks and tabs separate words: they become one space. Other controls
            // (NUL, ESC of terminal sequences) and bidi overrides are dropped.
            if scalar.properties.isWhitespace {
                pendingSpace = !scalars.isEmpty
                continue
            }
            if scalar.properties.generalCategory == .control || bidiControls.contains(scalar.value) { continue }
            if pendingSpace { scalars.append(" ") }
            pendingSpace = false
            scalars.append(scalar)
        }
        return String(scalars)
    }

    /// Every string in a response body except its error text and harmless fields: the values
    /// (tokens, ids, echoed request fields) a description must not repeat.
    static func sensitiveValues(_ body: JSONValue) -> [String] {
        let harmless: Set<String> = ["error", "errordescription", "error_description", "error_uri", "erroruri", "token_type", "tokentype", "scope", "scopes"]
        return body.strings().compactMap { entry in
            guard let key = entry.key, harmless.contains(key.lowercased()) else { return entry.value }
            return nil
        }
    }

    /// The SCM's error code, kept for programs as `scmError`: cleaned like a description but
    /// short, since a code is an identifier such as "invalid_grant".
    static func cleanErrorCode(_ text: String, secrets: [String] = []) -> String? {
        guard let cleaned = clean(text, redacting: secrets) else { return nil }
        return cleaned.count <= 100 ? cleaned : String(cleaned.prefix(99)) + "…"
    }

    /// Words that look like credentials: 24 or more characters of the base64/JWT/token
    /// alphabet mixing letters and digits (GitHub's gho_…, JWTs, GitLab's glpat-…). SCMs do
    /// not normally quote tokens in error descriptions, but a careless proxy or server could;
    /// GUIDs (Entra's trace and correlation ids) are useful to support and stay.
    static func redactTokenLikeWords(in text: String) -> String {
        var result = ""
        var word = ""
        func flush() {
            var candidate = Substring(word)
            var trailing = ""
            // Sentence punctuation after a word is not part of it.
            while candidate.last == "." {
                trailing += "."
                candidate = candidate.dropLast()
            }
            if isTokenLike(candidate) {
                result += "[redacted]" + trailing
            } else {
                result += word
            }
            word = ""
        }
        for character in text {
            if character.isASCII, character.isLetter || character.isNumber || "-._~+/=".contains(character) {
                word.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    private static func isTokenLike(_ word: Substring) -> Bool {
        guard word.count >= 24, UUID(uuidString: String(word)) == nil else { return false }
        return word.contains(where: \.isLetter) && word.contains(where: \.isNumber)
    }

    /// U+061C, U+200E/F, U+202A–202E, U+2066–2069: characters that reorder displayed text.
    private static let bidiControls: Set<UInt32> = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
}
