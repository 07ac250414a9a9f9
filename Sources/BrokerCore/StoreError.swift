/// What a store reports besides success. Messages name no secret.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable { case conflict, notFound, unavailable }
        fileprivate let base: Base
        /// A uniqueness rule would be broken (a runner or integration name in use).
        public static let conflict = Code(base: .conflict)
        /// What the change refers to does not exist (any more).
        public static let notFound = Code(base: .notFound)
        /// The database could not be reached or failed.
        public static let unavailable = Code(base: .unavailable)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
