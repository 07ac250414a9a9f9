import BrokerCore
import BrokerCrypto
import Foundation
import Logging

/// Admin tokens: the first is created at first start and written to a 0600 file; more with
/// `scm-broker admin-token create`. Only hashes are stored.
public enum AdminTokens {
    public static let fileName = "admin.token"

    /// Creates a token and returns it: the only moment it exists in plaintext.
    public static func create(name: String, store: any AdminTokenStore, clock: BrokerClock = .system) async throws -> String {
        let (token, hash) = IssuedToken.make(prefix: IssuedToken.adminPrefix)
        try await store.insertAdminToken(adminToken(name: name, hash: hash, clock: clock))
        return token
    }

    /// With no admin token in the store, creates one and writes it to `<keys-dir>/admin.token`.
    /// Logs the file's path, never the token. The file is written before the hash is stored,
    /// and removed again if storing fails: a stored token nobody can read would lock admins out.
    public static func bootstrap(store: any AdminTokenStore, keysDirectory: String, logger: Logger, clock: BrokerClock = .system) async throws {
        guard try await store.adminTokenCount() == 0 else { return }
        try KeyFile.ensurePrivateDirectory(keysDirectory)
        let path = (keysDirectory as NSString).appendingPathComponent(fileName)
        let (token, hash) = IssuedToken.make(prefix: IssuedToken.adminPrefix)
        try KeyFile.write(token + "\n", to: path, overwrite: true)
        do {
            try await store.insertAdminToken(adminToken(name: "initial", hash: hash, clock: clock))
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        logger.notice("created the first admin token", metadata: ["path": "\(path)"])
    }

    private static func adminToken(name: String, hash: String, clock: BrokerClock) -> AdminToken {
        AdminToken(id: UUID().uuidString.lowercased(), name: name, tokenHash: hash, createdAt: clock.now)
    }
}
