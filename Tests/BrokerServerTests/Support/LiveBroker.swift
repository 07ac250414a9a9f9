import AsyncHTTPClient
import BrokerServer
import Foundation
import Hummingbird
#if canImport(Glibc)
import Glibc
#endif

enum LiveBroker {
    /// A port the kernel just handed out, so a live broker can be given a matching public URL.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ConfigurationError("socket failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw ConfigurationError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `app` on its real socket while `body` runs, then shuts it down gracefully.
    static func run<T: Sendable>(_ app: BrokerApplication, publicURL: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService(gracefulShutdownSignals: [])
                return nil
            }
            try await waitUntilHealthy(publicURL)
            let result = try await body()
            group.cancelAll()
            return result
        }
    }

    static func waitUntilHealthy(_ publicURL: String) async throws {
        for _ in 0..<400 {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: publicURL + "/healthz"), timeout: .seconds(1)),
               response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ConfigurationError("broker at \(publicURL) did not become healthy")
    }
}
