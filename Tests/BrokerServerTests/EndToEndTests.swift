import BrokerCrypto
import BrokerServer
import Foundation
import Hummingbird
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import RunnerAgent
import Testing

/// The README walkthrough over real sockets: the runner agent's own client generates keys,
/// registers, authenticates with its signed assertion and opens the sealed secret.
@Suite("End to end over loopback")
struct EndToEndTests {
    @Test func runnerRegistersAuthenticatesAndOpensItsSecret() async throws {
        let broker = try TestBroker()
        let port = try LiveBroker.freePort()
        let publicURL = "http://127.0.0.1:\(port)"
        var configuration = broker.configuration
        configuration = try BrokerConfiguration(host: "127.0.0.1", port: port, publicURL: publicURL,
                                                dataDirectory: configuration.dataDirectory, keysDirectory: configuration.keysDirectory)
        let app = try await buildApplication(configuration, store: broker.store, logger: broker.log.logger())
        let admin = try broker.adminToken
        let keysDirectory = broker.directory + "/runner-keys"

        try await LiveBroker.run(app, publicURL: publicURL) {
            let created = try await Self.post(publicURL + "/api/v1/runners", admin: admin, body: #"{"name":"eu-1"}"#)
            #expect(created.status == .created)
            let runner = try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as! [String: Any]
            let registrationToken = runner["registration_token"] as! String

            let keys = try RunnerKeys.generate(in: keysDirectory, rsaBits: 2048)
            #expect(throws: RunnerError.self) { try RunnerKeys.generate(in: keysDirectory) }
            for file in [RunnerKeys.encryptionFile, RunnerKeys.signingFile] {
                let mode = try FileManager.default.attributesOfItem(atPath: keysDirectory + "/" + file)[.posixPermissions] as? Int
                #expect(mode == 0o600)
            }
            let brokerClient = BrokerClient(brokerURL: publicURL + "/")
            let runnerID = try await brokerClient.register(registrationToken: registrationToken, keys: RunnerKeys.load(from: keysDirectory))
            #expect(runnerID == runner["id"] as? String)
            await #expect(throws: RunnerError.self) { try await brokerClient.register(registrationToken: registrationToken, keys: keys) }
            try RunnerState(runnerID: runnerID, brokerURL: brokerClient.brokerURL).save(in: keysDirectory)

            let integration = try await Self.post(publicURL + "/api/v1/runners/\(runnerID)/integrations", admin: admin,
                                                  body: Fixtures.entraIntegration(secret: "walkthrough-secret"))
            #expect(integration.status == .created)

            let state = try RunnerState.load(from: keysDirectory)
            let token = try await brokerClient.accessToken(runnerID: state.runnerID, keys: keys)
            let integrations = try await brokerClient.integrations(accessToken: token)
            #expect(integrations.map(\.name) == ["contoso-ado"])
            #expect(try integrations[0].openClientSecret(with: keys)?.clientSecret == "walkthrough-secret")
            #expect(IntegrationCheck.secretStatus(integrations[0], keys: keys) == "secret: ok")
            let stranger = RunnerKeys(encryption: try RSAPrivateKey.generate(bits: 2048), signing: keys.signing)
            #expect(IntegrationCheck.secretStatus(integrations[0], keys: stranger).hasPrefix("secret: cannot open (keyMismatch"))
        }
    }

    struct PlainResponse {
        var status: HTTPResponseStatus
        var body: ByteBuffer
    }

    static func post(_ url: String, admin: String, body: String) async throws -> PlainResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(admin)")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return PlainResponse(status: response.status, body: try await response.body.collect(upTo: 1 << 20))
    }

    @Test func keyFilesReadableByOthersAreRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try RunnerKeys.generate(in: directory, rsaBits: 2048)
        // Secret mounts (Kubernetes) present keys as symlinks: the file they lead to is checked.
        let linked = directory + "/linked"
        try FileManager.default.createDirectory(atPath: linked, withIntermediateDirectories: true)
        for file in [RunnerKeys.encryptionFile, RunnerKeys.signingFile] {
            try FileManager.default.createSymbolicLink(atPath: linked + "/" + file, withDestinationPath: directory + "/" + file)
        }
        #expect(try RunnerKeys.load(from: linked).encryption.keyID == RunnerKeys.load(from: directory).encryption.keyID)

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: directory + "/" + RunnerKeys.encryptionFile)
        #expect(throws: CryptoError.self) { try RunnerKeys.load(from: directory) }
        #expect(throws: CryptoError.self) { try RunnerKeys.load(from: linked) }
    }
}
