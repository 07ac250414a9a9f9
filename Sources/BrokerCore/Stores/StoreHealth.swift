/// What a load balancer's readiness probe asks of the store.
public protocol StoreHealth: Sendable {
    /// Throws unless the database answers and its schema is the current one.
    func checkReady() async throws
}
