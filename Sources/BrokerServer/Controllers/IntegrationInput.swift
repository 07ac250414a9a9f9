import BrokerCore
import SCMProviders

/// A validated OAuth app as an admin sent it. `clientSecret` is plaintext only until it is
/// sealed, which `IntegrationsController` does before anything is stored.
struct OAuthInput {
    var flavor: OAuthFlavor?
    var tenant: String?
    var authority: String
    var clientID: String
    var clientSecret: String?

    static let fields: Set<String> = ["flavor", "tenant", "client_id", "client_secret", "authority"]

    /// Validates `reader` for `organization`, merged over `existing` (PATCH) if given.
    static func parse(_ reader: JSONObjectReader, organization: OrganizationURL, existing: OAuthApp?) throws(APIError) -> (OAuthInput, [String]) {
        try reader.allowOnly(fields)
        let provider = organization.provider
        if provider == .azureDevOps, organization.deployment == .server {
            throw APIError(.badRequest, code: .oauthNotSupported,
                           "Azure DevOps Server has no OAuth for third-party apps; enable the PAT route instead")
        }
        let flavor = try flavor(reader, provider: provider, existing: existing?.flavor)
        let tenant = try tenant(reader, flavor: flavor, existing: existing?.tenant)

        guard let clientIDText = try reader.string("client_id") ?? existing?.clientID else {
            throw .invalidRequest("missing field `oauth.client_id`")
        }
        let clientID = try Validation.clientID(clientIDText, field: "oauth.client_id")
        let clientSecret = try reader.string("client_secret").map { (value: String) throws(APIError) in
            try Validation.secret(value, field: "oauth.client_secret")
        }
        if clientSecret == nil, existing == nil { throw .invalidRequest("missing field `oauth.client_secret`") }

        let authority: String
        if let text = try reader.string("authority") {
            do {
                authority = try OAuthEndpoints.normalizedAuthority(text)
            } catch {
                throw .invalidRequest("`oauth.authority`: \(error.message)")
            }
        } else if let existing, existing.flavor == flavor {
            authority = existing.authority
        } else {
            authority = OAuthEndpoints.defaultAuthority(for: organization, flavor: flavor)
        }
        let warnings = flavor == .legacy ? [OAuthEndpoints.legacyDeprecationWarning] : []
        return (OAuthInput(flavor: flavor, tenant: tenant, authority: authority, clientID: clientID, clientSecret: clientSecret), warnings)
    }

    private static func flavor(_ reader: JSONObjectReader, provider: SCMProvider, existing: OAuthFlavor?) throws(APIError) -> OAuthFlavor? {
        let text = try reader.string("flavor")
        guard provider == .azureDevOps else {
            if text != nil { throw .invalidRequest("`oauth.flavor` applies to azure-devops only") }
            return nil
        }
        guard let text else { return existing ?? .entra }
        guard let flavor = OAuthFlavor(rawValue: text) else {
            throw .invalidRequest("`oauth.flavor` must be \"entra\" or \"legacy\"")
        }
        return flavor
    }

    private static func tenant(_ reader: JSONObjectReader, flavor: OAuthFlavor?, existing: String?) throws(APIError) -> String? {
        let text = try reader.string("tenant")
        guard flavor == .entra else {
            if text != nil { throw .invalidRequest("`oauth.tenant` applies to the entra flavor only") }
            return nil
        }
        let tenant = text ?? existing ?? OAuthEndpoints.defaultEntraTenant
        do {
            try OAuthEndpoints.validateEntraTenant(tenant)
        } catch {
            throw .invalidRequest("`oauth.tenant`: \(error.message)")
        }
        return tenant
    }
}

extension JSONObjectReader {
    func provider() throws(APIError) -> SCMProvider {
        let text = try requiredString("provider")
        guard let provider = SCMProvider(rawValue: text) else {
            throw .invalidRequest("unknown `provider`; expected one of \(SCMProvider.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return provider
    }

    func organizationURL(provider: SCMProvider) throws(APIError) -> OrganizationURL {
        do {
            return try OrganizationURL.parse(try requiredString("url"), provider: provider)
        } catch let error as SCMURLError {
            throw .invalidRequest("`url`: \(error.message)")
        } catch let error as APIError {
            throw error
        } catch {
            throw .invalidRequest("`url` is not valid")
        }
    }

    /// An override of where the runner calls the SCM's API: an https URL (http on loopback).
    func apiURL() throws(APIError) -> String? {
        guard !isNull("api_url"), let text = try string("api_url") else { return nil }
        do {
            return try OAuthEndpoints.normalizedAuthority(text)
        } catch {
            throw .invalidRequest("`api_url`: \(error.message)")
        }
    }

    /// An override of where git traffic goes: an https URL (http on loopback).
    func gitURL() throws(APIError) -> String? {
        guard !isNull("git_url"), let text = try string("git_url") else { return nil }
        do {
            return try OAuthEndpoints.normalizedAuthority(text)
        } catch {
            throw .invalidRequest("`git_url`: \(error.message)")
        }
    }

    func patEnabled(default value: Bool) throws(APIError) -> Bool {
        guard let pat = try object("pat") else { return value }
        try pat.allowOnly(["enabled"])
        return try pat.bool("enabled") ?? value
    }
}
