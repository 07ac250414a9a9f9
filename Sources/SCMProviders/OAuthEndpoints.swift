import Foundation

/// Azure DevOps has two OAuth services; the other providers have one each.
public enum OAuthFlavor: String, Codable, CaseIterable, Sendable {
    /// Microsoft Entra ID v2 endpoints: the supported way for new apps.
    case entra
    /// Legacy Azure DevOps OAuth (app.vssps.visualstudio.com): existing apps only, retiring in 2026.
    case legacy
}

public enum OAuthEndpoints {
    public static let entraAuthority = "https://login.microsoftonline.com"
    public static let legacyAzureDevOpsAuthority = "https://app.vssps.visualstudio.com"
    public static let defaultEntraTenant = "organizations"

    public static let legacyDeprecationWarning =
        "Legacy Azure DevOps OAuth accepts no new app registrations since April 2025 and Microsoft retires it during 2026; move this integration to Microsoft Entra ID (flavor \"entra\")."

    /// Where the OAuth service lives when the admin does not override it.
    public static func defaultAuthority(for organization: OrganizationURL, flavor: OAuthFlavor?) -> String {
        switch organization.provider {
        case .azureDevOps: flavor == .legacy ? legacyAzureDevOpsAuthority : entraAuthority
        case .github, .gitlab: organization.origin
        case .bitbucket: SCMProvider.bitbucket.publicOrigin
        }
    }

    /// Validates an admin-supplied authority (endpoint base): an absolute https URL (http for
    /// loopback), no credentials, query or fragment. Returns it without a trailing slash.
    public static func normalizedAuthority(_ text: String) throws(SCMURLError) -> String {
        let location = try SCMLocation.parse(text)
        guard !location.isSSH, location.user == nil else { throw SCMURLError("the authority must be an https URL") }
        return location.segments.isEmpty ? location.origin
            : location.origin + "/" + location.segments.map(OrganizationURL.encodeSegment).joined(separator: "/")
    }

    /// An Entra tenant: a GUID, a verified domain, or `organizations`/`common`. `consumers`
    /// (personal Microsoft accounts) cannot use the Azure DevOps APIs through Entra.
    public static func validateEntraTenant(_ tenant: String) throws(SCMURLError) {
        let lower = tenant.lowercased()
        if lower == "consumers" {
            throw SCMURLError("Entra apps cannot serve personal Microsoft accounts for Azure DevOps; use \"organizations\" or a tenant id")
        }
        if lower == "organizations" || lower == "common" || UUID(uuidString: tenant) != nil { return }
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        let isDomain = labels.count >= 2 && tenant.utf8.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        guard isDomain else { throw SCMURLError("tenant must be \"organizations\", a tenant id (GUID) or a domain") }
    }
}
