import BrokerCrypto
import BrokerProtocol
import Foundation
import Logging
import RunnerAgent
import SCMProviders
import Testing

/// A job the runner refuses is reported with the code of the reason, so that the page a user sees
/// and the admin's log say what went wrong. None of these jobs reaches an SCM: the transport
/// points at a closed port, and every refusal happens before a request is made.
@Suite("Runner: job failure codes")
struct JobExecutorFailureCodeTests {
    static func executor(_ keys: RunnerKeys) -> JobExecutor {
        JobExecutor(keys: keys, transport: SCMTransport(httpClient: .shared, timeout: .seconds(1)), logger: Logger(label: "test"))
    }

    static func job(_ keys: RunnerKeys, clientSecret: String, authority: String = "https://login.microsoftonline.com") throws -> LeasedJob {
        let integration = RunnerIntegration(
            id: "i-1", name: "contoso", provider: .azureDevOps, url: "https://dev.azure.com/contoso", apiURL: "https://dev.azure.com/contoso",
            gitURL: nil, callbackURL: "https://broker.example/oauth/callback/i-1",
            oauth: .init(flavor: .entra, tenant: "organizations", authority: authority, clientID: "client", clientSecret: clientSecret),
            githubApp: nil, pat: .init(enabled: false))
        let code = try JWE.seal("authorization-code", to: keys.encryption.publicKey)
        return LeasedJob(id: "j-1", kind: .oauthExchange, attempt: 1, leaseExpiresAt: nil, integration: integration,
                         payload: .exchange(ExchangePayload(code: code, codeVerifier: nil, redirectURI: "https://broker.example/cb", user: "alice")))
    }

    static func failureCode(_ report: JobReport) -> String? {
        if case .failed(let failure) = report { failure.code } else { nil }
    }

    @Test func aSecretSealedForOtherEndpointsIsAnEndpointMismatch() async throws {
        let keys = try Fixtures.runnerKeys()
        let bound = BoundClientSecret(clientSecret: "s3cret-value", authority: "https://evil.example", apiURL: "https://dev.azure.com/contoso")
        let job = try Self.job(keys, clientSecret: try JWE.seal(try bound.json(), to: keys.encryption.publicKey))
        let report = await Self.executor(keys).execute(job)
        #expect(Self.failureCode(report) == RunnerFailureCode.endpointMismatch.rawValue)
    }

    @Test func aSecretNotInTheSealedFormIsReportedAsSuch() async throws {
        let keys = try Fixtures.runnerKeys()
        let job = try Self.job(keys, clientSecret: try JWE.seal("just-a-plain-secret", to: keys.encryption.publicKey))
        let report = await Self.executor(keys).execute(job)
        #expect(Self.failureCode(report) == RunnerFailureCode.sealedFormInvalid.rawValue)
        if case .failed(let failure) = report { #expect(!failure.message.contains("just-a-plain-secret")) }
    }

    @Test func aSecretSealedToAnotherKeyCannotBeOpened() async throws {
        let keys = try Fixtures.runnerKeys()
        let other = try Fixtures.runnerKeys()
        let bound = BoundClientSecret(clientSecret: "s3cret-value", authority: "https://login.microsoftonline.com", apiURL: "https://dev.azure.com/contoso")
        let job = try Self.job(keys, clientSecret: try JWE.seal(try bound.json(), to: other.encryption.publicKey))
        let report = await Self.executor(keys).execute(job)
        #expect(Self.failureCode(report) == RunnerFailureCode.runnerCannotOpen.rawValue)
    }
}
