import BrokerCrypto
import BrokerProtocol
import SCMProviders

extension RunnerIntegration {
    /// Opens the sealed client secret with the runner's key, and checks that the endpoints it
    /// was sealed with are the integration's: a secret goes only where it was bound to go.
    /// The plaintext stays in memory only for as long as the caller keeps it.
    public func openClientSecret(with keys: RunnerKeys) throws -> BoundClientSecret? {
        guard let oauth else { return nil }
        let text = try JWE.openString(oauth.clientSecret, with: keys.encryption)
        guard let bound = try? BoundClientSecret(json: text) else {
            throw RunnerError(.sealedFormInvalid, "the sealed client secret is not in the expected form; enter it again")
        }
        guard bound.authority == oauth.authority, bound.apiURL == apiURL else {
            throw RunnerError(.endpointMismatch, "the integration's endpoints differ from those sealed with its client secret; an admin must enter the client secret again")
        }
        return bound
    }
}
