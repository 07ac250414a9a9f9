import BrokerCrypto
import BrokerServer
import Foundation
import Testing

@Suite("Co-located runner (serve --with-runner)")
struct ColocatedRunnerTests {
    @Test func registersOnceAndRefusesTheNameWithOtherKeys() async throws {
        let broker = try TestBroker()
        let keys = try Fixtures.runnerKeys()
        let id = try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: keys.encryption.publicKey,
                                                            signingKey: keys.signing.publicKey, store: broker.store)
        let runner = try #require(try await broker.store.runner(id: id))
        #expect(runner.status == .registered)
        #expect(runner.encryptionKey?.keyID == keys.encryption.keyID)
        #expect(runner.signingKey?.keyID == keys.signing.keyID)

        let again = try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: keys.encryption.publicKey,
                                                               signingKey: keys.signing.publicKey, store: broker.store)
        #expect(again == id)
        #expect(try await broker.store.runners().count == 1)

        let other = try Fixtures.runnerKeys()
        await #expect(throws: ConfigurationError.self) {
            try await ColocatedRunner.ensureRegistered(name: "local", encryptionKey: other.encryption.publicKey,
                                                       signingKey: other.signing.publicKey, store: broker.store)
        }
    }
}
