import BrokerCrypto
import Hummingbird

/// The cookie that binds connect flows to the browser that started them. Its value is a
/// random token; flows store only its hash. HttpOnly, SameSite=Lax (sent on the SCM's
/// top-level redirect back, not on cross-site posts), Secure when the broker is on https.
enum BrowserBinding {
    static let cookieName = "scm_broker_browser"
    /// Over https the cookie is `__Host-` prefixed: browsers then refuse it unless it is Secure,
    /// host-only and for `/`, so a sibling subdomain cannot plant one.
    static let secureCookieName = "__Host-scm_broker_browser"
    static let prefix = "sbbr_"

    static func name(secure: Bool) -> String { secure ? secureCookieName : cookieName }

    /// The browser's token if it sent a well-formed one.
    static func token(in request: Request, secure: Bool) -> String? {
        guard let value = request.cookies[name(secure: secure)]?.value, value.hasPrefix(prefix), value.utf8.count == prefix.utf8.count + 43,
              Base64URL.decode(value.dropFirst(prefix.count)) != nil
        else { return nil }
        return value
    }

    static func newToken() -> String {
        SecureRandom.token(bytes: 32, prefix: prefix)
    }

    static func cookie(_ token: String, secure: Bool) -> Cookie {
        Cookie(name: name(secure: secure), value: token, maxAge: 86_400, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func hash(_ token: String) -> String {
        SHA256.hex(token)
    }

    /// Whether `request` comes from the browser a flow is bound to.
    static func matches(_ request: Request, browserHash: String, secure: Bool) -> Bool {
        guard let token = token(in: request, secure: secure) else { return false }
        return constantTimeEqual(hash(token), browserHash)
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
