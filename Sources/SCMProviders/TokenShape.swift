/// What a secret or token must look like before it is sealed, sent or used: one rule, applied
/// where an admin enters a secret, where a user pastes a PAT, and where a runner receives a
/// token from an SCM. Problems never quote the value.
public enum TokenShape {
    public enum Problem: Sendable, Equatable {
        case empty
        case tooLong(maximumBytes: Int)
        /// Line breaks or other control characters: a paste gone wrong, and a header injection
        /// if sent on.
        case controlCharacters
        case surroundingSpaces
        /// Spaces or non-ASCII characters inside: no SCM issues such tokens.
        case notVisibleASCII
    }

    /// A bearer token or PAT: 1 to `maximumBytes` bytes of visible ASCII. Anything else cannot
    /// travel in an Authorization header (and would allow header injection if it did).
    public static func tokenProblem(_ token: String, maximumBytes: Int) -> Problem? {
        if let problem = secretProblem(token, maximumBytes: maximumBytes) { return problem }
        return token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) ? nil : .notVisibleASCII
    }

    /// A secret an admin enters (a client secret, a password): opaque, but 1 to `maximumBytes`
    /// bytes, without control characters and without leading or trailing spaces.
    public static func secretProblem(_ value: String, maximumBytes: Int) -> Problem? {
        if value.allSatisfy(\.isWhitespace) { return .empty }
        if value.utf8.count > maximumBytes { return .tooLong(maximumBytes: maximumBytes) }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return .controlCharacters }
        if value.first?.isWhitespace == true || value.last?.isWhitespace == true { return .surroundingSpaces }
        return nil
    }

    /// Text that is not a secret but travels with one (a username): 1 to `maximumBytes` bytes
    /// without control characters.
    public static func isPrintable(_ value: String, maximumBytes: Int) -> Bool {
        !value.isEmpty && value.utf8.count <= maximumBytes && !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
    }
}
