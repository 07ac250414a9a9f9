import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation

/// The checks of what runners report (job results, refresh results, refusals), once. The
/// types come from the wire contract; these are the rules beyond the types.
enum RunnerReport {
    /// A JWE compact string sealed to `runnerID`'s current encryption key: the broker cannot open
    /// it, but it can refuse one sealed to anything else (or plaintext). Returns it with the key id.
    static func sealedToRunner(_ jwe: String, field: String, runnerID: String, store: any RunnerStore, now: Date) async throws -> SealedSecret {
        guard let runner = try await store.runner(id: runnerID), let keyID = runner.encryptionKey?.keyID else {
            throw APIError.notFound("no such runner")
        }
        guard jwe.utf8.count <= JWE.maximumCompactLength, let header = try? JWE.header(of: jwe),
              header.alg == JWE.algorithm, header.enc == JWE.encryption, header.kid == keyID
        else { throw APIError.invalidRequest("`\(field)` must be a JWE sealed to this runner's encryption key") }
        return SealedSecret(jwe: jwe, keyID: keyID, updatedAt: now)
    }

    /// At most 64 scopes of 1–256 bytes.
    static func scopes(_ scopes: [String], field: String) throws(APIError) -> [String] {
        guard scopes.count <= 64, scopes.allSatisfy({ (1...256).contains($0.utf8.count) }) else {
            throw .invalidRequest("`\(field)` must be at most 64 strings of 1–256 bytes")
        }
        return scopes
    }

    /// A stable code: 1–64 characters of a–z and `_`.
    static func code(_ code: String, field: String) throws(APIError) -> String {
        guard (1...64).contains(code.utf8.count), code.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw .invalidRequest("`\(field)` must be 1–64 characters of a–z and _")
        }
        return code
    }

    /// A failure as people will see it: a stable code and a cleaned, bounded message.
    static func failure(_ failure: ReportedFailure, field: String) throws(APIError) -> FlowFailure {
        FlowFailure(code: try code(failure.code, field: "\(field).code"), message: cleaned(failure.message, limit: 500))
    }

    /// Text of 1–256 bytes shown to people, without control characters.
    static func bounded(_ value: String, field: String) throws(APIError) -> String {
        guard (1...256).contains(value.utf8.count) else { throw .invalidRequest("`\(field)` must be 1–256 bytes") }
        return cleaned(value, limit: 256)
    }

    /// Drops control characters and bounds the length of text shown to people.
    static func cleaned(_ text: String, limit: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(limit)))
    }
}
