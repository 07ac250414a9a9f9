import Foundation

/// What asking for the right to refresh a connection's OAuth token answers. One runner process
/// at a time holds it per connection, for a bounded time, and only for the version of the
/// credentials it read: a refresh that rotates the refresh token cannot run twice.
public enum RefreshLeaseOutcome: Sendable, Equatable {
    case acquired(expiresAt: Date)
    /// Another process holds an unexpired lease: wait, then read the credentials again.
    case held(until: Date)
    /// The credentials changed since they were read: read them again.
    case versionChanged(current: Int)
    /// The SCM refused the refresh token for good; the user has to connect again.
    case needsReconnect(reason: String?)
    case notFound
}

/// How a refresh ended, as the lease holder reports it.
public enum RefreshOutcome: Sendable, Equatable {
    /// New credentials (sealed by the runner), stored as the next version.
    case refreshed(credentials: SealedSecret, expiresAt: Date?, scopes: [String])
    /// The SCM refused for good (`invalid_grant`, …): the connection needs a reconnect.
    case permanentFailure(reason: String)
    /// The SCM could not be reached or failed; the lease is released for a later try.
    case transientFailure(reason: String)
}

extension Connection {
    /// How long a refresh lease lasts: longer than the runner's worst case (20 s of SCM retries,
    /// each call at most 10 s, then up to 30 s to store the result), so that another process
    /// does not refresh with a refresh token the holder may already have rotated.
    public static let refreshLeaseDuration: TimeInterval = 90
}
