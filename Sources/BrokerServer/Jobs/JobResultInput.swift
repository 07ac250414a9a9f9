import BrokerCore
import BrokerCrypto
import BrokerProtocol
import Foundation

/// A runner's job report, validated. Sealed credentials must be a JWE for the runner's own
/// encryption key: the broker can read the header, never the content.
enum JobResultInput {
    static func outcome(of report: JobReport, job: Job, store: any RunnerStore, now: Date) async throws -> JobOutcome {
        let expected = job.kind.successOutcome
        let outcome: JobOutcome
        switch report {
        case .failed(let failure):
            outcome = .failed(try RunnerReport.failure(failure, field: "error"))
        case .succeeded where expected == .succeeded:
            outcome = .succeeded
        case .connected(let connection) where expected == .connected:
            outcome = .connected(try await self.connection(connection, job: job, store: store, now: now))
        default:
            throw APIError.invalidRequest("`outcome` must be \"\(expected.rawValue)\" or \"failed\" for this job")
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

    private static func connection(_ reported: SealedConnection, job: Job, store: any RunnerStore, now: Date) async throws -> Connection {
        let credentials = try await RunnerReport.sealedToRunner(reported.credentials, field: "connection.credentials",
                                                                runnerID: job.runnerID, store: store, now: now)
        let user = reported.scmUser
        let identity = SCMUser(id: try RunnerReport.bounded(user.id, field: "connection.scm_user.id"),
                               username: try RunnerReport.bounded(user.username, field: "connection.scm_user.username"),
                               displayName: try user.displayName.map { try RunnerReport.bounded($0, field: "connection.scm_user.display_name") })
        let scopes = try RunnerReport.scopes(reported.scopes, field: "connection.scopes")
        // An organization credential belongs to no user; everything else names one.
        let owner = job.decodedPayload?.user ?? ""
        guard !owner.isEmpty || job.kind == .credentialValidation else { throw APIError.internalError }
        return Connection(id: UUID().uuidString.lowercased(), user: owner, integrationID: job.integrationID, runnerID: job.runnerID,
                          kind: job.kind == .oauthExchange ? .oauth : .pat, scmUser: identity, credentials: credentials,
                          scopes: scopes, expiresAt: reported.expiresAt, createdAt: now, updatedAt: now)
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
            self.failure = FlowFailure(code: BrokerErrorCode.runnerError, message: "The runner answered something unexpected.")
        }
    }

    func json() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    static func parse(_ json: String) -> CredentialValidationResult? {
        try? JSONDecoder().decode(CredentialValidationResult.self, from: Data(json.utf8))
    }
}
