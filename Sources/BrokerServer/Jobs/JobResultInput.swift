import BrokerCore
import BrokerCrypto
import Foundation

/// A runner's job result, validated. Sealed credentials must be a JWE for the runner's own
/// encryption key: the broker can read the header, never the content.
enum JobResultInput {
    static func parse(_ body: JSONObjectReader, job: Job, store: any Store, now: Date) async throws -> JobOutcome {
        try body.allowOnly(["outcome", "connection", "error"])
        let expected = job.kind == .revokeConnection ? "succeeded" : "connected"
        let outcome: JobOutcome
        switch try body.requiredString("outcome") {
        case "failed":
            guard let error = try body.object("error") else { throw APIError.invalidRequest("missing field `error`") }
            outcome = .failed(try failure(error))
        case "succeeded" where expected == "succeeded":
            outcome = .succeeded
        case "connected" where expected == "connected":
            guard let reader = try body.object("connection") else { throw APIError.invalidRequest("missing field `connection`") }
            outcome = .connected(try await connection(reader, job: job, store: store, now: now))
        default:
            throw APIError.invalidRequest("`outcome` must be \"\(expected)\" or \"failed\" for this job")
        }
        // An admin waits for a credential validation: keep the answer on the job for them.
        guard job.kind == .credentialValidation else { return outcome }
        return .recorded(try CredentialValidationResult(outcome).json())
    }

    static func name(_ outcome: JobOutcome) -> String {
        switch outcome {
        case .connected: "connected"
        case .failed(let failure): "failed:\(failure.code)"
        case .succeeded: "succeeded"
        case .recorded: "recorded"
        }
    }

    static func failure(_ reader: JSONObjectReader) throws -> FlowFailure {
        try reader.allowOnly(["code", "message"])
        let code = try reader.code("code")
        return FlowFailure(code: code, message: cleaned(try reader.string("message") ?? "", limit: 500))
    }

    private static func connection(_ reader: JSONObjectReader, job: Job, store: any Store, now: Date) async throws -> Connection {
        try reader.allowOnly(["credentials", "scm_user", "scopes", "expires_at"])
        let credentials = try await reader.sealedToRunner("credentials", runnerID: job.runnerID, store: store, now: now)
        guard let scmUser = try reader.object("scm_user") else { throw APIError.invalidRequest("missing field `connection.scm_user`") }
        try scmUser.allowOnly(["id", "username", "display_name"])
        let identity = SCMUser(id: try bounded(scmUser, "id", required: true)!, username: try bounded(scmUser, "username", required: true)!,
                               displayName: try bounded(scmUser, "display_name", required: false))
        let scopes = try reader.scopes("scopes")
        let expiresAt = try reader.time("expires_at")
        // An organization credential belongs to no user; everything else names one.
        let user = (try? JSONDecoder().decode(PayloadUser.self, from: Data(job.payload.utf8)))?.user ?? ""
        guard !user.isEmpty || job.kind == .credentialValidation else { throw APIError.internalError }
        return Connection(id: UUID().uuidString.lowercased(), user: user, integrationID: job.integrationID, runnerID: job.runnerID,
                          kind: job.kind == .oauthExchange ? .oauth : .pat, scmUser: identity, credentials: credentials,
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

/// A credential validation's answer as the waiting admin request reads it.
struct CredentialValidationResult: Codable {
    var failure: FlowFailure?
    var credentials: String?
    var keyID: String?
    var scmUser: SCMUser?

    init(_ outcome: JobOutcome) {
        switch outcome {
        case .connected(let connection):
            credentials = connection.credentials.jwe
            keyID = connection.credentials.keyID
            scmUser = connection.scmUser
        case .failed(let failure):
            self.failure = failure
        case .succeeded, .recorded:
            self.failure = FlowFailure(code: "runner_error", message: "The runner answered something unexpected.")
        }
    }

    func json() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    static func parse(_ json: String) -> CredentialValidationResult? {
        try? JSONDecoder().decode(CredentialValidationResult.self, from: Data(json.utf8))
    }
}
