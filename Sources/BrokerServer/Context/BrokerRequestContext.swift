import BrokerCore
import Hummingbird
import Logging

/// Who a bearer token identified.
public enum Principal: Sendable, Equatable {
    case admin(tokenID: String)
    case runner(id: String)
    case service(tokenID: String, role: ServiceRole)
}

/// The context of every request. `principal` is set by `BearerAuthenticator`; route groups
/// turn it into `AdminContext` or `RunnerContext`, whose existence means "authenticated".
public struct BrokerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.principal = nil
    }

}

/// A request made with a valid admin token. Bodies of every context are read with
/// `Request.collectBody()`, which enforces the broker's own 64 KiB limit.
public struct AdminContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let adminTokenID: String

    public init(context: BrokerRequestContext) throws {
        guard case .admin(let tokenID) = context.principal else { throw APIError.unauthorized }
        self.coreContext = context.coreContext
        self.adminTokenID = tokenID
        // Every log line of an admin action names the token that acted (its id, never the token).
        self.logger[metadataKey: "admin.token_id"] = "\(tokenID)"
    }

}

/// A request made with a valid runner access token.
public struct RunnerContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let runnerID: String

    public init(context: BrokerRequestContext) throws {
        guard case .runner(let id) = context.principal else { throw APIError.unauthorized }
        self.coreContext = context.coreContext
        self.runnerID = id
    }

}

/// A request from the environment service (a service token with role `environments`) or an
/// admin: they may name the user they act for.
public struct EnvironmentServiceContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let principal: Principal

    public init(context: BrokerRequestContext) throws {
        switch context.principal {
        case .admin, .service(_, .environments):
            self.principal = context.principal!
        default:
            throw APIError.unauthorized
        }
        self.coreContext = context.coreContext
    }

}
