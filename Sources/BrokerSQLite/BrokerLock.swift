import BrokerCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded store serves one broker: a second `scm-broker serve` on the same data directory
/// is refused at start instead of sharing an SQLite file with another process's in-memory
/// state (held polls, notifier, its co-located runner's files). An exclusive `flock` on
/// `<data>/broker.lock`, held for the life of the process; the kernel drops it when the process
/// ends, however it ends.
public final class BrokerLock: Sendable {
    private let descriptor: Int32
    public let path: String

    /// Takes the lock, or throws `StoreError(.conflict)` naming the process that holds it.
    public init(dataDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        path = (dataDirectory as NSString).appendingPathComponent("broker.lock")
        // Not through a symbolic link: the file is truncated and written below.
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw StoreError(.unavailable, "cannot open \(path) (it must be a regular file)") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 16)
            let count = read(descriptor, &buffer, buffer.count)
            // Only a process id is shown, whatever the file holds.
            let holder = String(decoding: buffer.prefix(max(0, count)).prefix { (0x30...0x39).contains($0) }, as: UTF8.self)
            close(descriptor)
            throw StoreError(.conflict, """
                another scm-broker\(holder.isEmpty ? "" : " (process \(holder))") is serving the data directory \(dataDirectory); \
                the embedded SQLite store serves one broker. Stop it, or run several brokers on PostgreSQL (--database-url).
                """)
        }
        // Who holds it, for the message above.
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        self.descriptor = descriptor
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
