/// Bounds how many jobs run at once: the poll asks for as many jobs as there are free slots.
actor JobSlots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) {
        free = count
    }

    /// Waits until at least one slot is free; returns how many are.
    func available() async -> Int {
        while free == 0 {
            await withCheckedContinuation { waiters.append($0) }
        }
        return free
    }

    func take() {
        free -= 1
    }

    func release() {
        free += 1
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
