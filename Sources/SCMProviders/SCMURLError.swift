/// Why a URL given for an integration or repository was refused. Messages are safe to show:
/// they never echo a URL's user-info, where a credential might have been pasted.
public struct SCMURLError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String

    init(_ message: String) { self.message = message }

    public var description: String { message }

    static let notAURL = SCMURLError("not an absolute http(s) or SSH URL")
    static let insecure = SCMURLError("https is required (http is accepted only for loopback hosts)")
    static let credentialsInURL = SCMURLError("the URL must not contain a password or token")
    static let queryOrFragment = SCMURLError("the URL must not have a query or fragment")
}
