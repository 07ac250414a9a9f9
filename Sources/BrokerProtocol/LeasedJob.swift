import Foundation

/// A job leased to a runner, as `GET /runner/v1/jobs` returns it: with the integration it
/// concerns (secrets sealed) and its payload.
public struct LeasedJob: Codable, Sendable, Equatable {
    public var id: String
    public var kind: JobKind
    /// How many leases this job has had, this one included.
    public var attempt: Int
    public var leaseExpiresAt: Date?
    public var integration: RunnerIntegration
    public var payload: JobPayload

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, kind, attempt, integration, payload
        case leaseExpiresAt = "lease_expires_at"
    }

    public init(id: String, kind: JobKind, attempt: Int, leaseExpiresAt: Date?, integration: RunnerIntegration, payload: JobPayload) {
        self.id = id
        self.kind = kind
        self.attempt = attempt
        self.leaseExpiresAt = leaseExpiresAt
        self.integration = integration
        self.payload = payload
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        kind = try container.decode(JobKind.self, forKey: .kind)
        attempt = try container.decode(Int.self, forKey: .attempt)
        leaseExpiresAt = try container.decodeIfPresent(Date.self, forKey: .leaseExpiresAt)
        integration = try container.decode(RunnerIntegration.self, forKey: .integration)
        // The kind says what the payload is.
        let payloadDecoder = try container.superDecoder(forKey: .payload)
        switch kind {
        case .oauthExchange: payload = .exchange(try ExchangePayload(from: payloadDecoder))
        case .revokeConnection: payload = .revocation(try RevocationPayload(from: payloadDecoder))
        case .patValidation, .credentialValidation: payload = .credentialCheck(try CredentialCheckPayload(from: payloadDecoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(attempt, forKey: .attempt)
        try container.encodeIfPresent(leaseExpiresAt, forKey: .leaseExpiresAt)
        try container.encode(integration, forKey: .integration)
        try payload.encode(to: container.superEncoder(forKey: .payload))
    }
}

/// `GET /runner/v1/jobs`'s answer.
public struct JobListing: Codable, Sendable, Equatable {
    public var jobs: [LeasedJob]
    /// Ids of jobs this side could not read (a kind, provider or payload from a newer broker):
    /// the runner reports them failed instead of letting one job block the others.
    public var unreadable: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case jobs
    }

    public init(jobs: [LeasedJob]) {
        self.jobs = jobs
    }

    public init(from decoder: any Decoder) throws {
        var container = try decoder.container(keyedBy: CodingKeys.self).nestedUnkeyedContainer(forKey: .jobs)
        jobs = []
        while !container.isAtEnd {
            let entry = try container.decode(Readable.self)
            if let job = entry.job {
                jobs.append(job)
            } else if let id = entry.id {
                unreadable.append(id)
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(jobs, forKey: .jobs)
    }

    /// One entry: the job, or at least its id.
    private struct Readable: Decodable {
        var job: LeasedJob?
        var id: String?

        enum CodingKeys: String, CodingKey {
            case id
        }

        init(from decoder: any Decoder) throws {
            job = try? LeasedJob(from: decoder)
            id = try? decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .id)
        }
    }
}
