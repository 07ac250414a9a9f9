import BrokerCore
import BrokerCrypto
import Foundation

/// Fields runners report in (job results, refresh results, refusals), checked one way everywhere.
extension JSONObjectReader {
    /// A JWE compact string sealed to `runnerID`'s current encryption key: the broker cannot open
    /// it, but it can refuse one sealed to anything else (or plaintext). Returns it with the key id.
    func sealedToRunner(_ key: String, runnerID: String, store: any Store, now: Date) async throws -> SealedSecret {
        guard let runner = try await store.runner(id: runnerID), let keyID = runner.encryptionKey?.keyID else {
            throw APIError.notFound("no such runner")
        }
        let jwe = try requiredString(key)
        guard jwe.utf8.count <= JWE.maximumCompactLength, let header = try? JWE.header(of: jwe),
              header.alg == JWE.algorithm, header.enc == JWE.encryption, header.kid == keyID
        else { throw APIError.invalidRequest("`\(name(key))` must be a JWE sealed to this runner's encryption key") }
        return SealedSecret(jwe: jwe, keyID: keyID, updatedAt: now)
    }

    /// At most 64 scopes of 1–256 bytes; none when absent.
    func scopes(_ key: String) throws(APIError) -> [String] {
        let scopes = try stringArray(key) ?? []
        guard scopes.count <= 64, scopes.allSatisfy({ (1...256).contains($0.utf8.count) }) else {
            throw .invalidRequest("`\(name(key))` must be at most 64 strings of 1–256 bytes")
        }
        return scopes
    }

    /// An ISO 8601 time, or nil when absent.
    func time(_ key: String) throws(APIError) -> Date? {
        guard let text = try string(key) else { return nil }
        guard let date = ISO8601DateFormatter().date(from: text) else { throw .invalidRequest("`\(name(key))` must be an ISO 8601 time") }
        return date
    }

    /// A stable code: 1–64 characters of a–z and `_`.
    func code(_ key: String) throws(APIError) -> String {
        let code = try requiredString(key)
        guard (1...64).contains(code.utf8.count), code.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw .invalidRequest("`\(name(key))` must be 1–64 characters of a–z and _")
        }
        return code
    }
}
