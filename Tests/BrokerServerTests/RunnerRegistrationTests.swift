import BrokerCrypto
import Foundation
import Testing

@Suite("Runner lifecycle and registration")
struct RunnerRegistrationTests {
    @Test func createListShowDelete() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let created = try await api.admin(.post, "/api/v1/runners", #"{"name":"eu-1"}"#)
            #expect(created.status == .created)
            #expect(created.string("status") == "pending")
            #expect(created.string("registration_token")?.hasPrefix("sbrt_") == true)
            let id = try #require(created.string("id"))
            let expiresText = try #require(created.string("registration_expires_at"))
            let expires = try #require(ISO8601DateFormatter().date(from: expiresText))
            #expect(abs(expires.timeIntervalSince(broker.clock.now) - 3600) < 2)

            let list = try await api.admin(.get, "/api/v1/runners")
            let runners = try #require(list["runners"] as? [[String: Any]])
            #expect(runners.map { $0["id"] as? String } == [id])
            #expect(runners.first?["registration_token"] == nil)

            let shown = try await api.admin(.get, "/api/v1/runners/\(id)")
            #expect(shown.string("name") == "eu-1")
            #expect(shown.string("status") == "pending")

            #expect(try await api.admin(.delete, "/api/v1/runners/\(id)").status == .noContent)
            #expect(try await api.admin(.get, "/api/v1/runners/\(id)").status == .notFound)
            #expect(try await api.admin(.delete, "/api/v1/runners/\(id)").status == .notFound)
        }
    }

    @Test(arguments: [
        (#"{}"#, "missing field `name`"),
        (#"{"name":5}"#, "`name` must be a string"),
        (#"{"name":""}"#, "`name` must be 1–64"),
        (#"{"name":"has space"}"#, "`name` must be 1–64"),
        (#"{"name":"eu-1","extra":true}"#, "unknown field `extra`"),
        (#"[1]"#, "JSON object"),
        (#"{"name":"#, "not valid JSON"),
    ])
    func createRunnerRejectsBadInput(_ body: String, _ message: String) async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let response = try await api.admin(.post, "/api/v1/runners", body)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_request")
            #expect(response.errorMessage?.contains(message) == true, "\(response.text)")
            #expect(try await broker.store.runners().isEmpty)
        }
    }

    @Test func duplicateRunnerNameIsAConflict() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            _ = try await api.createRunner("eu-1")
            let again = try await api.admin(.post, "/api/v1/runners", #"{"name":"eu-1"}"#)
            #expect(again.status == .conflict)
            #expect(again.errorCode == "conflict")
            #expect(try await broker.store.runners().count == 1)
        }
    }

    @Test func registrationRecordsKeyThumbprintsAndIsOneTime() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let (id, token) = try await api.createRunner()
            let keys = try Fixtures.runnerKeys()
            let registered = try await api.register(token: token, keys: keys)
            #expect(registered.status == .created)
            #expect(registered.string("runner_id") == id)
            let shown = try await api.admin(.get, "/api/v1/runners/\(id)")
            #expect(shown.string("status") == "registered")
            #expect(shown.string("encryption_key_id") == keys.encryption.keyID)
            #expect(shown.string("signing_key_id") == keys.signing.keyID)

            let otherKeys = try Fixtures.runnerKeys()
            let reused = try await api.register(token: token, keys: otherKeys)
            #expect(reused.status == .unauthorized)
            #expect(reused.errorCode == "unauthorized")
            // The first registration's keys stay.
            #expect(try await api.admin(.get, "/api/v1/runners/\(id)").string("encryption_key_id") == keys.encryption.keyID)
        }
    }

    @Test func expiredRegistrationTokenIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let (id, token) = try await api.createRunner()
            broker.clock.advance(by: 3601)
            let keys = try Fixtures.runnerKeys()
            let response = try await api.register(token: token, keys: keys)
            #expect(response.status == .unauthorized)
            #expect(try await api.admin(.get, "/api/v1/runners/\(id)").string("status") == "pending")
        }
    }

    @Test func unknownRegistrationTokenIsRefused() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let keys = try Fixtures.runnerKeys()
            for token in ["sbrt_unknown", "not-even-prefixed", ""] {
                let response = try await api.register(token: token, keys: keys)
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func badKeysAreRefusedWith400AndDoNotSpendTheToken() async throws {
        let broker = try TestBroker()
        try await broker.withClient { api in
            let (id, token) = try await api.createRunner()
            let keys = try Fixtures.runnerKeys()
            let rsa = keys.encryption.publicKey.jwk.jsonString()
            let ed = keys.signing.publicKey.jwk.jsonString()
            var privateRSA = keys.encryption.publicKey.jwk
            privateRSA.d = "AQAB"
            var privateEd = keys.signing.publicKey.jwk
            privateEd.d = Base64URL.encode(try keys.signing.rawRepresentation)
            let small = try Fixtures.smallRSAJWK()
            let cases: [(String, String, String)] = [
                (small, ed, "at least 2048"),
                (privateRSA.jsonString(), ed, "private JWK"),
                (rsa, privateEd.jsonString(), "private JWK"),
                (ed, ed, "kty RSA"),
                (rsa, rsa, "kty OKP"),
                (#"{"kty":"RSA","n":"!!","e":"AQAB"}"#, ed, "encryption_key"),
                (#"{"kty":"OKP","crv":"X25519","x":"\#(keys.signing.publicKey.jwk.x!)"}"#, ed, "encryption_key"),
                (rsa, #"{"kty":"OKP","crv":"X25519","x":"\#(keys.signing.publicKey.jwk.x!)"}"#, "crv Ed25519"),
                (rsa, #""a string""#, "must be a JWK object"),
            ]
            for (encryption, signing, message) in cases {
                let response = try await api.request(.post, "/runner/v1/register", bearer: nil,
                    body: Fixtures.registrationBody(token: token, encryptionKey: encryption, signingKey: signing))
                #expect(response.status == .badRequest, "\(message)")
                #expect(response.errorCode == "invalid_request")
                #expect(response.errorMessage?.contains(message) == true, "\(response.text) should mention \(message)")
            }
            #expect(try await api.admin(.get, "/api/v1/runners/\(id)").string("status") == "pending")
            #expect(try await api.register(token: token, keys: keys).status == .created)
        }
    }
}

extension Fixtures {
    /// A public RSA JWK with a 1024-bit modulus, made by the OpenSSL CLI (our own code refuses
    /// to generate one).
    static func smallRSAJWK() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("small-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try run("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", directory + "/k.pem"])
        let modulusLine = try run("/usr/bin/openssl", ["rsa", "-in", directory + "/k.pem", "-noout", "-modulus"])
        let hex = modulusLine.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "Modulus=", with: "")
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return #"{"kty":"RSA","n":"\#(Base64URL.encode(bytes))","e":"AQAB"}"#
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
