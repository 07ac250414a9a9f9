import Foundation
import Testing
import Yams

/// The Kubernetes and compose manifests, parsed document by document and checked for what an
/// operator relies on: probes, replicas, non-root, read-only root filesystems, secrets by
/// reference. No cluster is available here, so this is what keeps them honest.
@Suite("Deployment manifests")
struct DeploymentManifestTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy")

    static func documents(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: deploy.appendingPathComponent(path), encoding: .utf8)
        return try Yams.load_all(yaml: text).map { try #require($0 as? [String: Any], "\(path): a document is not a mapping") }
    }

    static func resource(_ documents: [[String: Any]], kind: String, name: String) throws -> [String: Any] {
        try #require(documents.first { $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name },
                     "no \(kind) \(name)")
    }

    static func podSpec(_ deployment: [String: Any]) throws -> [String: Any] {
        let spec = try #require(deployment["spec"] as? [String: Any])
        let template = try #require(spec["template"] as? [String: Any])
        return try #require(template["spec"] as? [String: Any])
    }

    @Test(arguments: ["kubernetes/broker.yaml", "kubernetes/runner.yaml"])
    func everyDocumentIsAKubernetesObject(_ path: String) throws {
        let documents = try Self.documents(path)
        #expect(!documents.isEmpty)
        for document in documents {
            #expect(document["apiVersion"] is String, "\(path)")
            #expect(document["kind"] is String, "\(path)")
            #expect((document["metadata"] as? [String: Any])?["name"] is String, "\(path)")
        }
    }

    @Test func theBrokerRunsTwoProbedHardenedReplicas() throws {
        let documents = try Self.documents("kubernetes/broker.yaml")
        let deployment = try Self.resource(documents, kind: "Deployment", name: "scm-broker")
        #expect((deployment["spec"] as? [String: Any])?["replicas"] as? Int == 2)
        let pod = try Self.podSpec(deployment)
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        #expect(pod["automountServiceAccountToken"] as? Bool == false)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect((container["image"] as? String)?.hasSuffix(":latest") == false, "a pinned image")
        #expect(((container["readinessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/readyz")
        #expect(((container["livenessProbe"] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String == "/healthz")
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect((container["resources"] as? [String: Any])?["requests"] != nil)
        // The database URL is a secret reference, never a literal in the manifest.
        let environment = try #require(container["env"] as? [[String: Any]])
        let databaseURL = try #require(environment.first { $0["name"] as? String == "SCM_BROKER_DATABASE_URL" })
        #expect(databaseURL["value"] == nil)
        #expect(((databaseURL["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any])?["name"] as? String == "scm-broker")
        #expect(environment.contains { $0["name"] as? String == "SCM_BROKER_DATABASE_PASSWORD_FILE" })

        _ = try Self.resource(documents, kind: "Service", name: "scm-broker")
        let budget = try Self.resource(documents, kind: "PodDisruptionBudget", name: "scm-broker")
        #expect((budget["spec"] as? [String: Any])?["minAvailable"] as? Int == 1)
    }

    @Test func theRunnerKeepsItsKeysInItsOwnSecret() throws {
        let documents = try Self.documents("kubernetes/runner.yaml")
        let deployment = try Self.resource(documents, kind: "Deployment", name: "scm-runner")
        #expect(((deployment["spec"] as? [String: Any])?["strategy"] as? [String: Any])?["type"] as? String == "Recreate",
                "never two pods with one runner identity")
        let pod = try Self.podSpec(deployment)
        #expect(pod["automountServiceAccountToken"] as? Bool == false)
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        #expect(volumes.contains { ($0["secret"] as? [String: Any])?["secretName"] as? String == "scm-runner-keys" })
        for container in (pod["containers"] as? [[String: Any]] ?? []) + (pod["initContainers"] as? [[String: Any]] ?? []) {
            #expect((container["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool == true)
        }
    }

    @Test func composeRunsTwoBrokersOnPostgreSQLBehindALoadBalancer() throws {
        let compose = try #require(try Self.documents("compose/compose.yaml").first)
        let services = try #require(compose["services"] as? [String: Any])
        for name in ["postgres", "broker-a", "broker-b", "loadbalancer", "runner"] {
            #expect(services[name] != nil, "service \(name)")
        }
        let broker = try #require(services["broker-b"] as? [String: Any], "the second broker (a YAML merge of the first)")
        let environment = try #require(broker["environment"] as? [String: Any])
        #expect((environment["SCM_BROKER_DATABASE_URL"] as? String)?.hasPrefix("postgres://") == true)
        #expect(environment["SCM_BROKER_DATABASE_PASSWORD_FILE"] != nil)
        #expect(broker["read_only"] as? Bool == true)
        let nginx = try String(contentsOf: Self.deploy.appendingPathComponent("compose/nginx.conf"), encoding: .utf8)
        #expect(nginx.contains("server broker-a:8080") && nginx.contains("server broker-b:8080"))
    }

    @Test func theContainerImageIsNonRootWithAHealthCheck() throws {
        let file = try String(contentsOf: Self.deploy.appendingPathComponent("container/Containerfile"), encoding: .utf8)
        #expect(file.components(separatedBy: "\nFROM ").count + (file.hasPrefix("FROM ") ? 1 : 0) >= 2, "multi-stage")
        #expect(file.contains("\nUSER 10001"))
        #expect(file.contains("HEALTHCHECK") && file.contains("/healthz"))
        #expect(file.contains("swift build -c release"))
    }

    @Test(arguments: ["systemd/scm-broker.service", "systemd/scm-runner.service"])
    func systemdUnitsAreHardened(_ path: String) throws {
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent(path), encoding: .utf8)
        for directive in ["LimitNOFILE=65536", "NoNewPrivileges=true", "ProtectSystem=strict", "PrivateTmp=true", "ReadWritePaths="] {
            #expect(unit.contains(directive), "\(path): \(directive)")
        }
    }
}
