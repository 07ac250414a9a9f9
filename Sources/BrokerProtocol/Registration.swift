import BrokerCrypto

/// `POST /runner/v1/register`: a pending runner proves it holds a one-time registration token
/// and hands over its public keys (RSA for sealing, Ed25519 for signing).
public struct RegistrationRequest: Codable, Sendable, Equatable {
    public var registrationToken: String
    public var encryptionKey: JWK
    public var signingKey: JWK

    enum CodingKeys: String, CodingKey, CaseIterable {
        case registrationToken = "registration_token"
        case encryptionKey = "encryption_key"
        case signingKey = "signing_key"
    }

    public init(registrationToken: String, encryptionKey: JWK, signingKey: JWK) {
        self.registrationToken = registrationToken
        self.encryptionKey = encryptionKey
        self.signingKey = signingKey
    }
}

public struct RegistrationReceipt: Codable, Sendable, Equatable {
    public var runnerID: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case runnerID = "runner_id"
    }

    public init(runnerID: String) {
        self.runnerID = runnerID
    }
}

/// `POST /runner/v1/token` (RFC 7523 client credentials with a signed assertion): the form's
/// fields, and the answer.
public enum RunnerTokenGrant {
    public static let grantType = "client_credentials"
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
}

public struct RunnerTokenResponse: Codable, Sendable, Equatable {
    public var accessToken: String
    public var tokenType: String
    /// Seconds.
    public var expiresIn: Int

    enum CodingKeys: String, CodingKey, CaseIterable {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }

    public init(accessToken: String, tokenType: String = "Bearer", expiresIn: Int) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
    }
}
