import BrokerServer
import Foundation
import Logging
import RunnerAgent
import ServiceLifecycle
import Testing

@Suite("Broker shutdown with held polls")
struct RunnerJobsShutdownTests {
    /// A graceful shutdown answers held polls at once (empty) instead of waiting out their 25 s.
    @Test func aGracefulShutdownReleasesHeldPolls() async throws {
        let broker = try TestBroker()
        let port = try LiveBroker.freePort()
        let publicURL = "http://127.0.0.1:\(port)"
        let configuration = try BrokerConfiguration(host: "127.0.0.1", port: port, publicURL: publicURL,
                                                    dataDirectory: broker.configuration.dataDirectory,
                                                    keysDirectory: broker.configuration.keysDirectory)
        let app = try await buildApplication(configuration, store: broker.store, logger: broker.log.logger())
        let group = ServiceGroup(configuration: .init(services: [app], logger: broker.log.logger()))
        let running = Task { try await group.run() }
        try await LiveBroker.waitUntilHealthy(publicURL)

        let created = try await EndToEndTests.post(publicURL + "/api/v1/runners", admin: try broker.adminToken, body: #"{"name":"eu-1"}"#)
        let runner = try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as! [String: Any]
        let keys = try Fixtures.runnerKeys()
        let client = BrokerClient(brokerURL: publicURL)
        let runnerID = try await client.register(registrationToken: runner["registration_token"] as! String, keys: keys)
        let token = try await client.accessToken(runnerID: runnerID, keys: keys)

        let started = ContinuousClock.now
        let poll = Task { try await client.pollJobs(accessToken: token, wait: 25, max: 4) }
        try await Task.sleep(for: .milliseconds(500))
        await group.triggerGracefulShutdown()
        let jobs = try await poll.value
        #expect(jobs.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(10), "the held poll did not keep the shutdown waiting")
        try await running.value
    }
}
