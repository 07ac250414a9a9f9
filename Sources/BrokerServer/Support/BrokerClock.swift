import Foundation

/// The broker's source of "now", injectable so tests can move time (token expiry).
public struct BrokerClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    public static let system = BrokerClock { Date() }

    public var now: Date { read() }
}
