import Foundation

/// Exponential backoff with full jitter, so many runners do not reconnect in lockstep after a
/// broker restart.
struct Backoff: Sendable {
    let initial: Duration
    let maximum: Duration
    private var attempt = 0

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    mutating func next() -> Duration {
        let ceiling = min(initial * (1 << min(attempt, 16)), maximum)
        attempt += 1
        let fraction = Double.random(in: 0.5...1.0)
        return ceiling * fraction
    }

    mutating func reset() {
        attempt = 0
    }
}
