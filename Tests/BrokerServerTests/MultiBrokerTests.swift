import AsyncHTTPClient
import BrokerCore
import BrokerCrypto
@testable import BrokerPostgres
import BrokerProtocol
import BrokerServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import RunnerAgent
import Testing

/// Several brokers on one PostgreSQL database, as behind a load balancer: each with its own
/// process state (connection pool, notifier), sharing everything else through the database.
@Suite("Several brokers on one PostgreSQL", .enabled(if: TestDatabase.runsPostgres))
struct MultiBrokerTests {
    static let databaseURL = TestDatabase.url

    /// Two brokers on a fresh schema. Both have the public URL of the first (a load balancer's),
    /// and a recheck interval far longer than any wait here: a held poll wakes only when a job
    /// is announced.
    struct Pair {
        var a: BrokerApplication
        var b: BrokerApplication
        var urlA: String
        var urlB: String
        var storeA: PostgresStore
        var storeB: PostgresStore
        var directory: String
    }

    static func pair() async throws -> Pair {
        let url = try #require(databaseURL, "SCM_BROKER_TEST_DATABASE_URL must name a database")
        let schema = "multi_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let settings = try PostgresSettings(url: url)
        let storeA = try await PostgresStore.connect(settings, creatingSchema: schema)
        var shared = settings
        shared.schema = schema
        let storeB = try await PostgresStore.connect(shared)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("multi-\(UUID().uuidString)").path
        let (portA, portB) = (try LiveBroker.freePort(), try LiveBroker.freePort())
        let urlA = "http://127.0.0.1:\(portA)"
        func configuration(_ port: Int, _ name: String) throws -> BrokerConfiguration {
            var configuration = try BrokerConfiguration(host: "127.0.0.1", port: port, publicURL: urlA,
                                                        dataDirectory: directory + "/\(name)/data", keysDirectory: directory + "/keys")
            configuration.pollRecheckInterval = 300
            return configuration
        }
        let a = try await buildApplication(try configuration(portA, "a"), store: storeA)
        let b = try await buildApplication(try configuration(portB, "b"), store: storeB)
        return Pair(a: a, b: b, urlA: urlA, urlB: "http://127.0.0.1:\(portB)", storeA: storeA, storeB: storeB, directory: directory)
    }

    @Test func aDumpOfTheDatabaseHoldsNoPlaintextSecret() async throws {
        let url = try #require(Self.databaseURL)
        let pair = try await Self.pair()
        defer { try? FileManager.default.removeItem(atPath: pair.directory) }
        let plantedSecret = "planted-client-secret-\(UUID().uuidString)"
        let admin = try await LiveBroker.run(pair.a, publicURL: pair.urlA) { () -> String in
            let admin = try KeyFile.read(pair.directory + "/keys/admin.token").trimmingCharacters(in: .whitespacesAndNewlines)
            let created = try await Self.post(pair.urlA + "/api/v1/runners", #"{"name":"eu-1"}"#, token: admin)
            let keys = try Fixtures.runnerKeys()
            let client = BrokerClient(brokerURL: pair.urlA)
            let runnerID = try await client.register(registrationToken: try #require(created["registration_token"] ?? nil), keys: keys)
            _ = try await client.accessToken(runnerID: runnerID, keys: keys)
            _ = try await Self.post(pair.urlA + "/api/v1/runners/\(runnerID)/integrations", Fixtures.entraIntegration(secret: plantedSecret), token: admin)
            _ = try await Self.post(pair.urlA + "/api/v1/service-tokens", #"{"name":"env","role":"environments"}"#, token: admin)
            return admin
        }
        let schema = try #require(try await pair.storeA.read { db in try await db.fetchOne("SELECT current_schema()")?.value(at: 0) as String? })
        let settings = try PostgresSettings(url: url)
        let password = try #require(URLComponents(string: url)?.password)
        let dump = try await onOwnThread { try Self.pgDump(settings: settings, password: password, schema: schema) }
        #expect(dump.contains("oauth_client_secret_jwe"), "the dump holds the integrations")
        #expect(dump.contains("eyJ"), "sealed secrets are there, as JWEs")
        #expect(!dump.contains(plantedSecret), "no plaintext client secret")
        #expect(!dump.contains(admin), "no plaintext admin token")
        pair.storeA.shutdown()
        pair.storeB.shutdown()
    }

    static func post(_ url: String, _ body: String, token: String) async throws -> [String: String?] {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        #expect((200..<300).contains(response.status.code), "\(url): \(String(buffer: bytes))")
        let object = try JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any] ?? [:]
        return object.mapValues { $0 as? String }
    }

    /// `pg_dump` of one schema, as an attacker with the database would get it.
    static func pgDump(settings: PostgresSettings, password: String, schema: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pg_dump")
        process.arguments = ["-h", settings.host, "-p", "\(settings.port)", "-U", settings.username, "-n", schema, settings.database]
        process.environment = ["PGPASSWORD": password, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw StoreError(.unavailable, "pg_dump failed") }
        return String(decoding: data, as: UTF8.self)
    }

    @Test func readinessFollowsTheDatabase() async throws {
        let pair = try await Self.pair()
        defer { try? FileManager.default.removeItem(atPath: pair.directory) }
        try await LiveBroker.run(pair.a, publicURL: pair.urlA) {
            let ready = try await HTTPClient.shared.execute(HTTPClientRequest(url: pair.urlA + "/readyz"), timeout: .seconds(10))
            #expect(ready.status == .ok)
            // A schema that is not the current one (a migration missing) is not ready.
            try await pair.storeA.write { db in try await db.execute("DELETE FROM schema_migrations") }
            // Probes are answered from a one-second cache.
            try await Task.sleep(for: .milliseconds(1100))
            let notReady = try await HTTPClient.shared.execute(HTTPClientRequest(url: pair.urlA + "/readyz"), timeout: .seconds(10))
            #expect(notReady.status == .serviceUnavailable)
            let body = try await notReady.body.collect(upTo: 1 << 16)
            #expect(try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: body)).error.code == BrokerErrorCode.notReady.rawValue)
            let alive = try await HTTPClient.shared.execute(HTTPClientRequest(url: pair.urlA + "/healthz"), timeout: .seconds(10))
            #expect(alive.status == .ok, "alive, though not ready")
        }
        pair.storeA.shutdown()
        pair.storeB.shutdown()
    }

    @Test func aJobQueuedThroughOneBrokerWakesThePollHeldByAnother() async throws {
        let pair = try await Self.pair()
        defer { try? FileManager.default.removeItem(atPath: pair.directory) }
        try await LiveBroker.run(pair.a, publicURL: pair.urlA) {
            try await LiveBroker.run(pair.b, publicURL: pair.urlB) {
                let admin = try KeyFile.read(pair.directory + "/keys/admin.token").trimmingCharacters(in: .whitespacesAndNewlines)
                // The runner is created through A and registers and authenticates through B.
                var create = HTTPClientRequest(url: pair.urlA + "/api/v1/runners")
                create.method = .POST
                create.headers.add(name: "Authorization", value: "Bearer \(admin)")
                create.headers.add(name: "Content-Type", value: "application/json")
                create.body = .bytes(ByteBuffer(string: #"{"name":"eu-1"}"#))
                let created = try await HTTPClient.shared.execute(create, timeout: .seconds(10))
                #expect(created.status == .created)
                let body = try await created.body.collect(upTo: 1 << 16)
                let runner = try JSONDecoder().decode([String: String?].self, from: Data(buffer: body))
                let registration = try #require(runner["registration_token"] ?? nil)
                let keys = try Fixtures.runnerKeys()
                let viaB = BrokerClient(brokerURL: pair.urlB, tokenAudience: pair.urlA + "/runner/v1/token")
                let runnerID = try await viaB.register(registrationToken: registration, keys: keys)
                let token = try await viaB.accessToken(runnerID: runnerID, keys: keys)

                // A poll held by A; the job is queued by B's process.
                let viaA = BrokerClient(brokerURL: pair.urlA)
                let started = ContinuousClock.now
                async let polled = viaA.pollJobs(accessToken: token, wait: 20, max: 4)
                try await Task.sleep(for: .milliseconds(500))
                let integration = Integration(
                    id: UUID().uuidString.lowercased(), runnerID: runnerID, name: "gl", provider: .gitlab, url: "https://gitlab.com/g",
                    oauth: nil, pat: PATSettings(enabled: true), labels: [], description: "", createdAt: Date(), updatedAt: Date())
                try await pair.storeB.insertIntegration(integration)
                try await pair.storeB.enqueueJob(Job(id: "across", runnerID: runnerID, kind: .patValidation, integrationID: integration.id,
                                                     payload: .credentialCheck(CredentialCheckPayload(token: "jwe.pat", user: "alice")),
                                                     createdAt: Date()))
                let jobs = try await polled
                #expect(jobs.map(\.id) == ["across"])
                // Woken by the announcement: the poll's own recheck (300 s) and its wait (20 s) are far off.
                #expect(ContinuousClock.now - started < .seconds(15))
            }
        }
        pair.storeA.shutdown()
        pair.storeB.shutdown()
    }
}

/// The PostgreSQL database tests may use: `SCM_BROKER_TEST_DATABASE_URL` (`.ci/run` sets it).
/// Under CI the PostgreSQL tests run even without it, and fail loudly.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["SCM_BROKER_TEST_DATABASE_URL"]
    static let runsPostgres = url != nil || ProcessInfo.processInfo.environment["CI"] != nil
}

/// A fresh schema in the test database, and stores on it (one per broker).
final class PostgresTestSchema: @unchecked Sendable {
    let settings: PostgresSettings
    let store: PostgresStore
    private var opened: [PostgresStore] = []

    static func make() async throws -> PostgresTestSchema {
        let url = try #require(TestDatabase.url, "SCM_BROKER_TEST_DATABASE_URL must name a database")
        let schema = "live_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let store = try await PostgresStore.connect(try PostgresSettings(url: url), creatingSchema: schema)
        var settings = try PostgresSettings(url: url)
        settings.schema = schema
        return PostgresTestSchema(settings: settings, store: store)
    }

    private init(settings: PostgresSettings, store: PostgresStore) {
        self.settings = settings
        self.store = store
    }

    /// Another store (another broker's pool) on the same schema.
    func connect() async throws -> PostgresStore {
        let store = try await PostgresStore.connect(settings)
        opened.append(store)
        return store
    }

    func close() {
        for store in opened + [store] { store.shutdown() }
    }
}

/// The runner, the browser and the environment service each talking to a different broker of
/// the same deployment, with the strict fake SCM.
@Suite("Several brokers end to end", .serialized, .enabled(if: TestDatabase.runsPostgres))
struct MultiBrokerEndToEndTests {
    @Test func aCallbackOnOneBrokerReachesTheRunnerPollingAnother() async throws {
        // Held polls recheck the queue only every 300 s, and the agent's polls are held 25 s:
        // the flow can complete in time only if the callback's job wakes the poll at once.
        let stack = try await LiveStack.start(postgres: true, pollRecheckInterval: 300)
        let replica = try await stack.startReplica()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        let agent = stack.startAgent(runner, pollWait: 25)
        try await Task.sleep(for: .milliseconds(300))

        // The browser's requests all land on the replica; the runner's poll is held by the first broker.
        let browser = TestBrowser()
        let publicURL = stack.publicURL
        browser.route { $0.hasPrefix(publicURL) ? replica + $0.dropFirst(publicURL.count) : $0 }
        let started = ContinuousClock.now
        let page = try await stack.beginConnect(browser, integrationID: integrationID)
        let final = try await stack.waitForFlow(browser, flowURL: try stack.flowURL(in: page), timeout: .seconds(15))
        #expect(final["status"] as? String == "connected", "\(final)")
        #expect(try await stack.connections().count == 1)
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func refreshIsSingleFlightAcrossBrokers() async throws {
        let stack = try await LiveStack.start(postgres: true)
        let replica = try await stack.startReplica()
        let runner = try await stack.registerRunner()
        let agent = stack.startAgent(runner)
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        stack.fake.accessTokenLifetime = 60
        try await stack.connect(integrationID: integrationID)
        stack.fake.accessTokenLifetime = 0
        try stack.fake.createRepository(.gitlab, path: "contoso/app")
        // Created through the first broker; credentials asked of both.
        let (status, environment) = try await stack.createEnvironment(runner: runner, repository: "https://gitlab.com/contoso/app")
        #expect(status == 201, "\(environment)")
        let environmentID = try #require(environment["id"] as? String)
        let refreshesBefore = stack.fake.stats.refreshes

        let processes = [stack.makeProvider(runner), stack.makeProvider(runner, brokerURL: replica)]
        let passwords = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<10 {
                group.addTask { try await processes[index % 2].credential(environmentID: environmentID).1.password }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(stack.fake.stats.refreshes - refreshesBefore == 1, "exactly one refresh at the SCM")
        #expect(Set(passwords).count == 1, "every request, through either broker, got the refreshed token")
        let connection = try #require(try await stack.store.connections(user: "alice").first)
        #expect(connection.version == 2)
        agent.cancel()
        try await stack.stop()
    }

    @Test func aBrokerKilledMidFlowLosesNothingAndTheRunnerMovesOn() async throws {
        let stack = try await LiveStack.start(postgres: true)
        let (doomed, process) = try await stack.startReplicaProcess()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        // The runner knows both brokers and polls the one that is about to die.
        let agent = stack.startAgent(runner, pollWait: 5, brokerURL: "\(doomed),\(stack.publicURL)")
        try await Task.sleep(for: .milliseconds(500))

        // The flow starts on the doomed broker: it spends the ticket, stores the flow (state,
        // sealed PKCE verifier) and sends the browser to the SCM…
        let browser = TestBrowser()
        let publicURL = stack.publicURL
        browser.route { $0.hasPrefix(publicURL) ? doomed + $0.dropFirst(publicURL.count) : $0 }
        let links = try await stack.connectLinks(integrationID: integrationID)
        let started = try await browser.get(try #require(links["oauth_url"] as? String), redirects: 0)
        #expect(started.status == 302, "\(started.text)")
        let authorize = try #require(started.location)
        // …and is killed (SIGKILL: no graceful anything) while the user is at the SCM.
        kill(process.processIdentifier, SIGKILL)
        try await onOwnThread { process.waitUntilExit() }

        // The load balancer sends the browser to the surviving broker, which finishes the flow
        // from what the dead one acknowledged; the runner, its poll cut, moves there too.
        browser.route { $0 }
        let page = try await browser.get(authorize)
        #expect(page.status == 200, "\(page.text)")
        let final = try await stack.waitForFlow(browser, flowURL: try stack.flowURL(in: page), timeout: .seconds(30))
        #expect(final["status"] as? String == "connected", "\(final)")
        #expect(try await stack.connections().count == 1)
        #expect(try await stack.store.integration(id: integrationID) != nil)
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }

    @Test func aRunnerGivenSeveralBrokersOutlivesTheOneItPolled() async throws {
        let stack = try await LiveStack.start(postgres: true)
        let replica = try await stack.startReplica()
        let runner = try await stack.registerRunner()
        let integrationID = try await stack.integration(.gitlab, runner: runner)
        // The agent knows both brokers and polls the first; then the first goes away.
        let agent = stack.startAgent(runner, pollWait: 2, brokerURL: "\(stack.publicURL),\(replica)")
        try await Task.sleep(for: .milliseconds(500))
        await stack.stopBroker()

        // Users reach the surviving broker (the load balancer stopped sending them to the first).
        let browser = TestBrowser()
        let publicURL = stack.publicURL
        browser.route { $0.hasPrefix(publicURL) ? replica + $0.dropFirst(publicURL.count) : $0 }
        let links = try await MultiBrokerTests.post(replica + "/api/v1/connect-links",
                                                    #"{"user":"alice","integration":"\#(integrationID)"}"#, token: stack.serviceToken)
        let page = try await browser.get(try #require(links["oauth_url"] ?? nil))
        let final = try await stack.waitForFlow(browser, flowURL: try stack.flowURL(in: page), timeout: .seconds(30))
        #expect(final["status"] as? String == "connected", "\(final)")
        // What the first broker acknowledged before it went (the runner, the integration) is all there.
        #expect(try await stack.store.integration(id: integrationID) != nil)
        #expect(try await stack.store.connections(user: "alice").count == 1)
        agent.cancel()
        try await browser.shutdown()
        try await stack.stop()
    }
}
