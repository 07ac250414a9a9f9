import BrokerCore
import SCMProviders

/// Which of a runner's integrations serves a repository: those whose organization contains it
/// (same host, organization path a prefix of the repository's), the most specific winning.
enum IntegrationMatch {
    struct Matched {
        var integration: Integration
        var repository: RepositoryURL
    }

    enum Failure: Error {
        case notARepositoryURL
        /// The URL is on an integration's host but not a repository of that provider's forms.
        case invalidRepositoryURL(String)
        case noIntegration
        case ambiguous([Integration])
    }

    static func match(_ text: String, among integrations: [Integration]) -> Result<Matched, Failure> {
        var understood = SCMProvider.allCases.contains { (try? RepositoryURL.parse(text, provider: $0)) != nil }
        var candidates: [(Matched, Int)] = []
        var invalidOnKnownHost: String?
        for integration in integrations {
            guard let organization = try? OrganizationURL.parse(integration.url, provider: integration.provider) else { continue }
            let repository: RepositoryURL
            do {
                repository = try RepositoryURL.parse(text, provider: integration.provider)
            } catch {
                if (try? OrganizationURL.parse(text, provider: integration.provider))?.origin == organization.origin {
                    invalidOnKnownHost = error.message
                }
                continue
            }
            understood = true
            if repository.belongs(to: organization) {
                candidates.append((Matched(integration: integration, repository: repository), organization.path.count))
            }
        }
        if candidates.isEmpty, let invalidOnKnownHost { return .failure(.invalidRepositoryURL(invalidOnKnownHost)) }
        guard understood else { return .failure(.notARepositoryURL) }
        guard let best = candidates.map(\.1).max() else { return .failure(.noIntegration) }
        let winners = candidates.filter { $0.1 == best }.map(\.0)
        guard winners.count == 1 else { return .failure(.ambiguous(winners.map(\.integration))) }
        return .success(winners[0])
    }
}
