import BrokerCrypto
import BrokerServer
import BrokerSQLite
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import RunnerAgent
import Testing

/// A broker on a fresh data directory with a real SQLite store, a movable clock and captured
/// logs. Every response body it sees is kept, for secret scanning.
final class TestBroker: @unchecked Sendable {
    let directory: String
    let store: SQLiteStore
    let clock = TestClock()
    let log = TestLog()
    let configuration: BrokerConfiguration
    private let lock = NSLock()
    private var bodies: [String] = []

    init(port: Int = 0) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString)").path
        configuration = try BrokerConfiguration(
            port: port, publicURL: "http://127.0.0.1:8080",
            dataDirectory: directory + "/data", keysDirectory: directory + "/keys")
        store = try SQLiteStore(dataDirectory: configuration.dataDirectory)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func application() async throws -> BrokerApplication {
        try await buildApplication(configuration, store: store, clock: clock.brokerClock, logger: log.logger())
    }

    /// The admin token the broker wrote at first start.
    var adminToken: String {
        get throws { try KeyFile.read(configuration.keysDirectory + "/admin.token").trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    var responseBodies: String { lock.withLock { bodies.joined(separator: "\n") } }

    func record(_ body: String) { lock.withLock { bodies.append(body) } }

    /// Runs `body` against the router (no sockets) with a client that records responses.
    func withClient<T>(_ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let app = try await application()
        let admin = try adminToken
        return try await app.test(.router) { client in
            try await body(APIClient(client: client, adminToken: admin, broker: self))
        }
    }

    /// The SQLite file's bytes (after moving the WAL into it), to scan for plaintext.
    func databaseBytes() async throws -> [UInt8] {
        try await store.checkpoint()
        var bytes: [UInt8] = []
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: store.path + suffix) { bytes += data }
        }
        return bytes
    }
}

struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    /// `Set-Cookie` values, and the cookie pair (name=value) of the broker's browser cookie.
    var browserCookie: String? {
        headers[values: .setCookie].first { $0.hasPrefix("scm_broker_browser=") }?.split(separator: ";").first.map(String.init)
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }

    subscript(_ key: String) -> Any? { json[key] }

    func string(_ key: String) -> String? { json[key] as? String }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol
    let adminToken: String
    let broker: TestBroker
    var audience = Fixtures.audience

    func request(_ method: HTTPRequest.Method, _ uri: String, bearer: String?, body: String? = nil,
                 contentType: String = "application/json", headers extra: HTTPFields = [:]) async throws -> APIResponse {
        var headers = extra
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if body != nil { headers[.contentType] = contentType }
        let response = try await client.execute(uri: uri, method: method, headers: headers,
                                                body: body.map { ByteBuffer(string: $0) })
        let text = String(buffer: response.body)
        broker.record(text)
        return APIResponse(status: response.status, headers: response.headers, text: text)
    }

    func admin(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> APIResponse {
        try await request(method, uri, bearer: adminToken, body: body)
    }

    /// Creates a runner and returns (id, registration token).
    func createRunner(_ name: String = "eu-1") async throws -> (id: String, token: String) {
        let response = try await admin(.post, "/api/v1/runners", #"{"name":"\#(name)"}"#)
        #expect(response.status == .created)
        return (try #require(response.string("id")), try #require(response.string("registration_token")))
    }

    func register(token: String, keys: RunnerKeys) async throws -> APIResponse {
        try await request(.post, "/runner/v1/register", bearer: nil, body: Fixtures.registrationBody(token: token, keys: keys))
    }

    /// A registered runner with fresh keys.
    func registeredRunner(_ name: String = "eu-1") async throws -> TestRunner {
        let (id, token) = try await createRunner(name)
        let keys = try Fixtures.runnerKeys()
        let response = try await register(token: token, keys: keys)
        #expect(response.status == .created)
        return TestRunner(id: id, keys: keys)
    }

    func tokenRequest(assertion: String, grantType: String = "client_credentials",
                      assertionType: String = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") async throws -> APIResponse {
        let form = "grant_type=\(grantType)&client_assertion_type=\(Fixtures.formEncode(assertionType))&client_assertion=\(Fixtures.formEncode(assertion))"
        return try await request(.post, "/runner/v1/token", bearer: nil, body: form, contentType: "application/x-www-form-urlencoded")
    }

    func runnerAccessToken(_ runner: TestRunner) async throws -> String {
        let assertion = try await Fixtures.assertion(runnerID: runner.id, key: runner.keys.signing, now: broker.clock.now, audience: audience)
        let response = try await tokenRequest(assertion: assertion)
        #expect(response.status == .ok)
        return try #require(response.string("access_token"))
    }

    func createIntegration(runnerID: String, _ body: String) async throws -> APIResponse {
        try await admin(.post, "/api/v1/runners/\(runnerID)/integrations", body)
    }

    /// A service token with role `environments`.
    func serviceToken(_ name: String = "environments") async throws -> String {
        let response = try await admin(.post, "/api/v1/service-tokens", #"{"name":"\#(name)","role":"environments"}"#)
        #expect(response.status == .created, "\(response.text)")
        return try #require(response.string("token"))
    }

    /// Links for `user` to connect `integrationID`, asked for with `token`.
    func connectLinks(user: String = "alice", integrationID: String, token: String) async throws -> APIResponse {
        try await request(.post, "/api/v1/connect-links", bearer: token, body: #"{"user":"\#(user)","integration":"\#(integrationID)"}"#)
    }
}

struct TestRunner: Sendable {
    var id: String
    var keys: RunnerKeys
}
