import Hummingbird
import Logging

/// Who a bearer token identified.
public enum Principal: Sendable, Equatable {
    case admin(tokenID: String)
    case runner(id: String)
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

    public var maxUploadSize: Int { maximumBodySize }
}

/// A request made with a valid admin token.
public struct AdminContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let adminTokenID: String

    public init(context: BrokerRequestContext) throws {
        guard case .admin(let tokenID) = context.principal else { throw APIError.unauthorized }
        self.coreContext = context.coreContext
        self.adminTokenID = tokenID
    }

    public var maxUploadSize: Int { maximumBodySize }
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

    public var maxUploadSize: Int { maximumBodySize }
}
