import BrokerCore
import BrokerPostgres
import BrokerProtocol
import BrokerSQLite
import Foundation
import Testing

/// Every store implementation the conformance suite runs against. A new store adds a case.
///
/// PostgreSQL runs when `SCM_BROKER_TEST_DATABASE_URL` names a database (`.ci/run` starts one on
/// loopback and sets it); each test gets a schema of its own. Without it the PostgreSQL cases
/// are skipped with a printed reason, except under CI (`CI` set), where they run and fail
/// loudly rather than pass by not running.
enum StoreFixture: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    static let databaseURLVariable = "SCM_BROKER_TEST_DATABASE_URL"

    static var allCases: [StoreFixture] {
        let environment = ProcessInfo.processInfo.environment
        if environment[databaseURLVariable] != nil || environment["CI"] != nil { return [.sqlite, .postgres] }
        skipNotice
        return [.sqlite]
    }

    private static let skipNotice: Void = {
        print("BrokerStoreTests: \(databaseURLVariable) is not set; the PostgreSQL store's conformance runs are skipped on this machine")
    }()

    func make() async throws -> any Store {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
            return try SQLiteStore(dataDirectory: directory)
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment[Self.databaseURLVariable] else {
                throw StoreError(.unavailable, "\(Self.databaseURLVariable) is not set: the PostgreSQL store cannot be tested")
            }
            return try await PostgresTestDatabase.store(url: url)
        }
    }
}

/// A PostgreSQL store in a fresh schema of the test database.
enum PostgresTestDatabase {
    static func store(url: String) async throws -> PostgresStore {
        var settings = try PostgresSettings(url: url)
        settings.maximumConnections = 2
        return try await PostgresStore.connect(settings, creatingSchema: "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))
    }
}

enum Sample {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func runner(_ name: String = "eu-1", id: String = UUID().uuidString.lowercased()) -> Runner {
        Runner(id: id, name: name, status: .pending, createdAt: now)
    }

    static func registration(for runner: Runner, hash: String = UUID().uuidString, expiresIn: TimeInterval = 3600) -> RegistrationToken {
        RegistrationToken(runnerID: runner.id, tokenHash: hash, expiresAt: now.addingTimeInterval(expiresIn))
    }

    static let encryptionKey = RunnerPublicKey(keyID: "enc-kid", jwk: #"{"kty":"RSA","n":"x","e":"AQAB"}"#)
    static let signingKey = RunnerPublicKey(keyID: "sig-kid", jwk: #"{"kty":"OKP","crv":"Ed25519","x":"y"}"#)

    static func integration(runnerID: String, name: String = "contoso-ado", secret: String = "jwe.sealed.value.iv.tag") -> Integration {
        Integration(
            id: UUID().uuidString.lowercased(), runnerID: runnerID, name: name, provider: .azureDevOps,
            url: "https://dev.azure.com/contoso",
            oauth: OAuthApp(flavor: .entra, tenant: "organizations", authority: "https://login.microsoftonline.com",
                            clientID: "client-id", clientSecret: SealedSecret(jwe: secret, keyID: "enc-kid", updatedAt: now)),
            pat: PATSettings(enabled: true), labels: ["prod", "eu"], description: "**markdown**", createdAt: now, updatedAt: now)
    }

    /// A store holding one registered runner.
    static func registeredRunner(in store: any Store, name: String = "eu-1") async throws -> Runner {
        let runner = Sample.runner(name)
        let registration = Sample.registration(for: runner)
        try await store.insertRunner(runner, registration: registration)
        let registered = try await store.completeRegistration(
            tokenHash: registration.tokenHash, encryptionKey: encryptionKey, signingKey: signingKey, at: now)
        return try #require(registered)
    }
}

// MARK: Connect flows, jobs and connections

extension Sample {
    static func id() -> String { UUID().uuidString.lowercased() }

    static func serviceToken(hash: String = UUID().uuidString, name: String = "environments") -> ServiceToken {
        ServiceToken(id: id(), name: name, role: .environments, tokenHash: hash, createdAt: now)
    }

    /// A store holding one registered runner and one integration of it.
    static func connectable(in store: any Store, runnerName: String = "eu-1") async throws -> (Runner, Integration) {
        let runner = try await registeredRunner(in: store, name: runnerName)
        let integration = Sample.integration(runnerID: runner.id)
        try await store.insertIntegration(integration)
        return (runner, integration)
    }

    static func ticket(for integration: Integration, user: String = "alice", hash: String = UUID().uuidString,
                       expiresIn: TimeInterval = ConnectTicket.lifetime) -> ConnectTicket {
        ConnectTicket(tokenHash: hash, user: user, integrationID: integration.id, expiresAt: now.addingTimeInterval(expiresIn))
    }

    /// A flow as the connect controller builds it: the user is the ticket's, filled in by `startFlow`.
    static func flow(for integration: Integration, verifier: String? = "jwe.sealed.code-verifier", createdAt: Date = now) -> ConnectFlow {
        ConnectFlow(id: id(), integrationID: integration.id, runnerID: integration.runnerID, user: "not-the-ticket-user",
                    stateHash: "state-\(id())", browserHash: "browser-\(id())", sealedCodeVerifier: verifier, createdAt: createdAt)
    }

    static func exchangeJob(for flow: ConnectFlow, createdAt: Date = now) -> Job {
        Job(id: id(), runnerID: flow.runnerID, kind: .oauthExchange, integrationID: flow.integrationID, flowID: flow.id,
            payload: #"{"code":"jwe.sealed.code","user":"\#(flow.user)"}"#, createdAt: createdAt)
    }

    /// A job with no flow (a revocation), for queue tests.
    static func job(runnerID: String, integrationID: String, id: String = id(), createdAt: Date = now) -> Job {
        Job(id: id, runnerID: runnerID, kind: .revokeConnection, integrationID: integrationID, payload: "{}", createdAt: createdAt)
    }

    static func connection(for integration: Integration, user: String = "alice", credentials: String = "jwe.sealed.credentials",
                           at time: Date = now) -> Connection {
        Connection(id: id(), user: user, integrationID: integration.id, runnerID: integration.runnerID, kind: .oauth,
                   scmUser: SCMUser(id: "scm-\(user)", username: user, displayName: "\(user.capitalized) Example"),
                   credentials: SealedSecret(jwe: credentials, keyID: "enc-kid", updatedAt: time), scopes: ["vso.code", "offline_access"],
                   expiresAt: time.addingTimeInterval(3600), createdAt: time, updatedAt: time)
    }

    /// Spends a fresh ticket for `user` and returns the started flow.
    static func startedFlow(in store: any Store, integration: Integration, user: String = "alice",
                            verifier: String? = "jwe.sealed.code-verifier") async throws -> ConnectFlow {
        let ticket = Sample.ticket(for: integration, user: user)
        try await store.insertConnectTicket(ticket, now: now)
        let started = try await store.startFlow(ticketHash: ticket.tokenHash, flow: flow(for: integration, verifier: verifier), now: now)
        return try #require(started)
    }

    /// A flow whose callback came: `exchanging`, with its queued exchange job.
    static func exchangingFlow(in store: any Store, integration: Integration, user: String = "alice") async throws -> (ConnectFlow, Job) {
        let flow = try await startedFlow(in: store, integration: integration, user: user)
        let job = exchangeJob(for: flow)
        let begun = try await store.beginExchange(flowID: flow.id, job: job, now: now)
        try #require(begun)
        let exchanging = try await store.flow(id: flow.id)
        return (try #require(exchanging), job)
    }

    /// Runs a whole connect flow for `user` and returns the stored connection.
    @discardableResult
    static func connect(in store: any Store, integration: Integration, user: String = "alice",
                        credentials: String = "jwe.sealed.credentials", at time: Date = now) async throws -> Connection {
        let (_, job) = try await exchangingFlow(in: store, integration: integration, user: user)
        let connection = Sample.connection(for: integration, user: user, credentials: credentials, at: time)
        let completion = try await store.completeJob(id: job.id, runnerID: job.runnerID, outcome: .connected(connection), now: time)
        try #require(completion == .applied)
        return connection
    }

    /// Leases (so: drains) every job the runner could take at `time`.
    static func drain(_ store: any Store, runnerID: String, at time: Date) async throws -> [Job] {
        try await store.leaseJobs(runnerID: runnerID, limit: 1000, leaseDuration: 60, now: time)
    }

    static func revocation(_ job: Job) throws -> RevocationPayload {
        try JSONDecoder().decode(RevocationPayload.self, from: Data(job.payload.utf8))
    }
}
