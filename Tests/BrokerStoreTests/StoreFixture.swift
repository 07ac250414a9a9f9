import BrokerCore
import BrokerSQLite
import Foundation
import Testing

/// Every store implementation the conformance suite runs against. A new store adds a case.
enum StoreFixture: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    var testDescription: String { rawValue }

    func make() throws -> any Store {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path
            return try SQLiteStore(dataDirectory: directory)
        }
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
