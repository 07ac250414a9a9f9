import BrokerCore
import BrokerCrypto
import Hummingbird

/// Resolves `Authorization: Bearer …` to a principal. Tokens are looked up by their SHA-256
/// hash; a missing, unknown or expired token leaves the principal unset (routes that need one
/// answer 401), so one path serves both admins and runners.
struct BearerAuthenticator: RouterMiddleware {
    typealias Context = BrokerRequestContext

    let store: any AdminTokenStore & RunnerStore & ServiceTokenStore
    let clock: BrokerClock

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let token = Self.bearerToken(request) {
            context.principal = try await principal(for: token)
        }
        return try await next(request, context)
    }

    private func principal(for token: String) async throws -> Principal? {
        let hash = SHA256.hex(token)
        if token.hasPrefix(IssuedToken.adminPrefix) {
            return try await store.adminToken(hash: hash).map { .admin(tokenID: $0.id) }
        }
        if token.hasPrefix(IssuedToken.servicePrefix) {
            return try await store.serviceToken(hash: hash).map { .service(tokenID: $0.id, role: $0.role) }
        }
        if token.hasPrefix(IssuedToken.runnerAccessPrefix),
           let access = try await store.runnerAccessToken(hash: hash), access.expiresAt > clock.now {
            return .runner(id: access.runnerID)
        }
        return nil
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty || token.utf8.count > 256 ? nil : token
    }
}

/// Prefixes make a leaked token recognisable (secret scanners) and its kind obvious.
enum IssuedToken {
    static let adminPrefix = "sbat_"
    static let registrationPrefix = "sbrt_"
    static let runnerAccessPrefix = "sbra_"
    static let servicePrefix = "sbst_"
    static let connectTicketPrefix = "sbct_"

    static func make(prefix: String) -> (token: String, hash: String) {
        let token = SecureRandom.token(bytes: 32, prefix: prefix)
        return (token, SHA256.hex(token))
    }
}
