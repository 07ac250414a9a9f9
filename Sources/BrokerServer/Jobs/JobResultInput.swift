import BrokerCore
import BrokerCrypto
import Foundation

/// A runner's job result, validated. Sealed credentials must be a JWE for the runner's own
/// encryption key: the broker can read the header, never the content.
enum JobResultInput {
    static func parse(_ body: JSONObjectReader, job: Job, store: any Store, now: Date) async throws -> JobOutcome {
        try body.allowOnly(["outcome", "connection", "error"])
        switch try body.requiredString("outcome") {
        case "failed":
            guard let error = try body.object("error") else { throw APIError.invalidRequest("missing field `error`") }
            return .failed(try failure(error))
        case "succeeded" where job.kind == .revokeConnection:
            return .succeeded
        case "connected" where job.kind == .oauthExchange:
            guard let reader = try body.object("connection") else { throw APIError.invalidRequest("missing field `connection`") }
            return .connected(try await connection(reader, job: job, store: store, now: now))
        default:
            throw APIError.invalidRequest("`outcome` must be \(job.kind == .oauthExchange ? "\"connected\"" : "\"succeeded\"") or \"failed\" for this job")
        }
    }

    static func name(_ outcome: JobOutcome) -> String {
        switch outcome {
        case .connected: "connected"
        case .failed(let failure): "failed:\(failure.code)"
        case .succeeded: "succeeded"
        }
    }

    static func failure(_ reader: JSONObjectReader) throws -> FlowFailure {
        try reader.allowOnly(["code", "message"])
        let code = try reader.requiredString("code")
        guard (1...64).contains(code.utf8.count), code.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw APIError.invalidRequest("`error.code` must be 1–64 characters of a–z and _")
        }
        return FlowFailure(code: code, message: cleaned(try reader.string("message") ?? "", limit: 500))
    }

    private static func connection(_ reader: JSONObjectReader, job: Job, store: any Store, now: Date) async throws -> Connection {
        try reader.allowOnly(["credentials", "scm_user", "scopes", "expires_at"])
        guard let runner = try await store.runner(id: job.runnerID), let keyID = runner.encryptionKey?.keyID else {
            throw APIError.notFound("no such runner")
        }
        let credentials = try reader.requiredString("credentials")
        guard credentials.utf8.count <= JWE.maximumCompactLength, let header = try? JWE.header(of: credentials),
              header.alg == JWE.algorithm, header.enc == JWE.encryption, header.kid == keyID
        else { throw APIError.invalidRequest("`connection.credentials` must be a JWE sealed to this runner's encryption key") }
        guard let scmUser = try reader.object("scm_user") else { throw APIError.invalidRequest("missing field `connection.scm_user`") }
        try scmUser.allowOnly(["id", "username", "display_name"])
        let identity = SCMUser(id: try bounded(scmUser, "id", required: true)!, username: try bounded(scmUser, "username", required: true)!,
                               displayName: try bounded(scmUser, "display_name", required: false))
        let scopes = try reader.stringArray("scopes") ?? []
        guard scopes.count <= 64, scopes.allSatisfy({ (1...256).contains($0.utf8.count) }) else {
            throw APIError.invalidRequest("`connection.scopes` must be at most 64 strings of 1–256 bytes")
        }
        var expiresAt: Date?
        if let text = try reader.string("expires_at") {
            guard let date = ISO8601DateFormatter().date(from: text) else {
                throw APIError.invalidRequest("`connection.expires_at` must be an ISO 8601 time")
            }
            expiresAt = date
        }
        guard let payload = try? JSONDecoder().decode(ExchangePayload.self, from: Data(job.payload.utf8)) else { throw APIError.internalError }
        return Connection(id: UUID().uuidString.lowercased(), user: payload.user, integrationID: job.integrationID, runnerID: job.runnerID,
                          kind: .oauth, scmUser: identity, credentials: SealedSecret(jwe: credentials, keyID: keyID, updatedAt: now),
                          scopes: scopes, expiresAt: expiresAt, createdAt: now, updatedAt: now)
    }

    private static func bounded(_ reader: JSONObjectReader, _ key: String, required: Bool) throws -> String? {
        guard let value = try reader.string(key) else {
            if required { throw APIError.invalidRequest("missing field `\(reader.name(key))`") }
            return nil
        }
        guard (1...256).contains(value.utf8.count) else { throw APIError.invalidRequest("`\(reader.name(key))` must be 1–256 bytes") }
        return cleaned(value, limit: 256)
    }

    /// Drops control characters and bounds the length of text shown to people.
    static func cleaned(_ text: String, limit: Int) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(limit)))
    }
}
