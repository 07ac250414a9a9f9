// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "scm-broker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "scm-broker", targets: ["scm-broker"]),
        .executable(name: "scm-runner", targets: ["scm-runner"]),
        .executable(name: "scm-broker-bench", targets: ["BrokerBench"]),
        .executable(name: "fake-scm", targets: ["fake-scm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // OpenSSL 3 from the OS (libssl-dev). The module map's header also carries
        // small inline shims for what Swift cannot import (macros).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Keys, PEM/JWK, thumbprints, JWE. The only target that touches OpenSSL.
        .target(
            name: "BrokerCrypto",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings
        ),
        // Per-provider pure data and functions: URL forms, endpoints, conventions.
        .target(name: "SCMProviders", swiftSettings: swiftSettings),
        // The wire contract between broker and runner: job kinds, payloads and results, the
        // runner's view of integrations and clone credentials. Both sides use these types.
        .target(
            name: "BrokerProtocol",
            dependencies: ["SCMProviders", "BrokerCrypto"],
            swiftSettings: swiftSettings
        ),
        // Domain model and the store protocols, one per aggregate.
        .target(
            name: "BrokerCore",
            dependencies: ["SCMProviders", "BrokerProtocol"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BrokerSQLite",
            dependencies: [
                "BrokerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store for several brokers: PostgreSQL through postgres-nio.
        .target(
            name: "BrokerPostgres",
            dependencies: [
                "BrokerCore", "BrokerProtocol", "SCMProviders",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BrokerServer",
            dependencies: [
                "BrokerCore", "BrokerCrypto", "SCMProviders", "BrokerSQLite", "BrokerProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RunnerAgent",
            dependencies: [
                "BrokerCrypto", "SCMProviders", "BrokerProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // A strict stand-in for the SCMs' OAuth and REST endpoints, for tests and local trials
        // (`swift run fake-scm`). SCMs are not reachable from CI; this is the one fake we use.
        .target(
            name: "FakeSCM",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fake-scm",
            dependencies: [
                "FakeSCM",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "scm-broker",
            dependencies: [
                "BrokerServer", "RunnerAgent", "BrokerProtocol", "BrokerPostgres", "BrokerSQLite", "BrokerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "scm-runner",
            dependencies: [
                "RunnerAgent", "BrokerProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Seal/open throughput next to raw OpenSSL: `swift run -c release scm-broker-bench`.
        .executableTarget(
            name: "BrokerBench",
            dependencies: ["BrokerCrypto", "COpenSSL", "BrokerCore", "BrokerSQLite", "BrokerProtocol", "BrokerPostgres"],
            swiftSettings: swiftSettings
        ),
        // The deployment manifests (deploy/): parsed and checked, since no cluster is at hand.
        .testTarget(
            name: "DeploymentTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BrokerCryptoTests",
            dependencies: ["BrokerCrypto"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SCMProvidersTests",
            dependencies: ["SCMProviders"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BrokerStoreTests",
            dependencies: ["BrokerCore", "BrokerSQLite", "BrokerProtocol", "BrokerPostgres", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FakeSCMTests",
            dependencies: [
                "FakeSCM",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BrokerServerTests",
            dependencies: [
                "BrokerServer", "RunnerAgent", "BrokerCrypto", "BrokerSQLite", "FakeSCM", "SCMProviders", "BrokerCore", "BrokerProtocol",
                "BrokerPostgres",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
