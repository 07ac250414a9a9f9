import BrokerCrypto
import BrokerProtocol

/// What `scm-runner integrations` reports per integration: whether its sealed secret opens
/// with this runner's key, or why not. Never the secret itself.
public enum IntegrationCheck {
    public static func secretStatus(_ integration: RunnerIntegration, keys: RunnerKeys) -> String {
        do {
            guard try integration.openClientSecret(with: keys) != nil else { return "secret: none (PAT only)" }
            return "secret: ok"
        } catch let error as CryptoError {
            return "secret: cannot open (\(error.code): \(error.message))"
        } catch let error as RunnerError {
            return "secret: refused (\(error.description))"
        } catch {
            return "secret: cannot open"
        }
    }
}
