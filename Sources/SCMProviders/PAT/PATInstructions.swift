import Foundation

/// What a user is told to create on the PAT page: a deep link to the provider's token page,
/// pre-filled where the provider allows it, and the scopes to tick spelled out.
public struct PATInstructions: Sendable, Equatable {
    public var tokenPageURL: String
    public var steps: [String]
    /// Bitbucket app passwords authenticate as username + password.
    public var needsUsername: Bool

    public static let suggestedLifetimeDays = 30

    public static func instructions(for organization: OrganizationURL) -> PATInstructions {
        let lifetime = "Set it to expire in \(suggestedLifetimeDays) days; you can connect a new one when it does."
        switch organization.provider {
        case .azureDevOps:
            return PATInstructions(
                tokenPageURL: organization.string + "/_usersSettings/tokens",
                steps: [
                    "Select “New Token”.",
                    "Organization: \(organization.path.last ?? organization.host). Scopes: “Custom defined”, then Code: Read & write.",
                    lifetime,
                    "Copy the token and paste it below.",
                ], needsUsername: false)
        case .github:
            let description = "scm-broker".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? "scm-broker"
            return PATInstructions(
                tokenPageURL: "\(organization.origin)/settings/tokens/new?description=\(description)&scopes=repo",
                steps: ["The page opens with the scope repo ticked.", lifetime, "Generate the token, copy it and paste it below."],
                needsUsername: false)
        case .gitlab:
            return PATInstructions(
                tokenPageURL: "\(organization.origin)/-/user_settings/personal_access_tokens?name=scm-broker&scopes=read_repository,write_repository,read_user",
                steps: ["The page opens with read_repository, write_repository and read_user ticked.", lifetime,
                        "Create the token, copy it and paste it below."],
                needsUsername: false)
        case .bitbucket:
            return PATInstructions(
                tokenPageURL: "https://bitbucket.org/account/settings/app-passwords/new",
                steps: ["Label it scm-broker and tick Account: Read, Repositories: Read and Write.",
                        "Copy the app password and paste it below with your Bitbucket username."],
                needsUsername: true)
        }
    }
}
