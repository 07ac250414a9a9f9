import Testing
@testable import SCMProviders

/// OAuthEndpoints: default authorities, admin-supplied authorities and Entra tenants.
@Suite("OAuth endpoints")
struct OAuthEndpointsTests {
    static func organization(_ text: String, _ provider: SCMProvider) throws -> OrganizationURL {
        try OrganizationURL.parse(text, provider: provider)
    }

    @Test("Azure DevOps: Entra unless the legacy flavor is chosen, for cloud and server alike")
    func azureDevOpsAuthority() throws {
        for text in ["https://dev.azure.com/contoso", "https://tfs.example.com/tfs/DefaultCollection"] {
            let org = try Self.organization(text, .azureDevOps)
            #expect(OAuthEndpoints.defaultAuthority(for: org, flavor: nil) == "https://login.microsoftonline.com")
            #expect(OAuthEndpoints.defaultAuthority(for: org, flavor: .entra) == "https://login.microsoftonline.com")
            #expect(OAuthEndpoints.defaultAuthority(for: org, flavor: .legacy) == "https://app.vssps.visualstudio.com")
        }
        #expect(OAuthEndpoints.entraAuthority == "https://login.microsoftonline.com")
        #expect(OAuthEndpoints.legacyAzureDevOpsAuthority == "https://app.vssps.visualstudio.com")
        #expect(OAuthEndpoints.defaultEntraTenant == "organizations")
        #expect(OAuthFlavor.allCases.map(\.rawValue) == ["entra", "legacy"])
        #expect(OAuthEndpoints.legacyDeprecationWarning.contains("2026"))
        #expect(OAuthEndpoints.legacyDeprecationWarning.contains("entra"))
    }

    @Test("GitHub and GitLab: the organization's own origin (cloud or self-hosted); Bitbucket: bitbucket.org",
          arguments: [
              ("https://github.com/contoso", SCMProvider.github, "https://github.com"),
              ("https://ghe.example.com/org", .github, "https://ghe.example.com"),
              ("https://ghe.example.com:8443/org", .github, "https://ghe.example.com:8443"),
              ("https://gitlab.com/group/subgroup", .gitlab, "https://gitlab.com"),
              ("https://gitlab.example.com/group", .gitlab, "https://gitlab.example.com"),
              ("https://bitbucket.org/workspace", .bitbucket, "https://bitbucket.org"),
          ])
    func otherAuthorities(text: String, provider: SCMProvider, authority: String) throws {
        let org = try Self.organization(text, provider)
        for flavor in [nil, OAuthFlavor.entra, .legacy] {
            #expect(OAuthEndpoints.defaultAuthority(for: org, flavor: flavor) == authority)
        }
    }

    @Test("normalizedAuthority keeps the origin and path, drops a trailing slash", arguments: [
        ("https://login.microsoftonline.com", "https://login.microsoftonline.com"),
        ("https://login.microsoftonline.com/", "https://login.microsoftonline.com"),
        ("https://LOGIN.microsoftonline.com/", "https://login.microsoftonline.com"),
        ("https://gitlab.example.com/gitlab/", "https://gitlab.example.com/gitlab"),
        ("https://gitlab.example.com:443/gitlab", "https://gitlab.example.com/gitlab"),
        ("https://ghe.example.com:8443/", "https://ghe.example.com:8443"),
        ("https://idp.example.com/a%20b/", "https://idp.example.com/a%20b"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://127.0.0.1:9000/oauth/", "http://127.0.0.1:9000/oauth"),
    ])
    func normalizedAuthority(input: String, expected: String) throws {
        #expect(try OAuthEndpoints.normalizedAuthority(input) == expected)
        #expect(try OAuthEndpoints.normalizedAuthority(expected) == expected)
    }

    @Test("normalizedAuthority refuses what is not a clean https base URL", arguments: [
        "http://login.microsoftonline.com", "http://gitlab.example.com/", "https://login.microsoftonline.com/?x=1",
        "https://login.microsoftonline.com/#x", "https://user@login.microsoftonline.com", "https://user:secret@idp.example.com",
        "git@gitlab.example.com:group", "ssh://git@gitlab.example.com/group", "ftp://idp.example.com", "", "login.microsoftonline.com",
        "https://idp.example.com/../x", "https://idp.example.com/a\nb",
    ])
    func normalizedAuthorityRefusals(input: String) {
        #expect(throws: SCMURLError.self) { try OAuthEndpoints.normalizedAuthority(input) }
    }

    @Test("Entra tenant: organizations, common, a GUID or a domain are accepted", arguments: [
        "organizations", "common", "Organizations", "COMMON",
        "72f988bf-86f1-41af-91ab-2d7cd011db47", "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "00000000-0000-0000-0000-000000000000",
        "contoso.onmicrosoft.com", "Contoso.OnMicrosoft.com", "contoso.com", "my-company.co.uk", "a1.b2",
    ])
    func validTenants(tenant: String) throws {
        try OAuthEndpoints.validateEntraTenant(tenant)
    }

    @Test("Entra tenant: consumers and anything that is not a GUID or domain are refused", arguments: [
        "consumers", "Consumers", "CONSUMERS", "bad tenant", "", "contoso", "-contoso.com", "contoso-.com", "contoso..com",
        ".contoso.com", "contoso.com.", "contoso.com/evil", "contoso.com?x", "contoso_corp.com", "conto\u{00E9}so.com",
        "72f988bf-86f1-41af-91ab", "../organizations", "organizations/", String(repeating: "a", count: 64) + ".com",
        String(repeating: "abcdefgh.", count: 30) + "com",
    ])
    func invalidTenants(tenant: String) {
        #expect(throws: SCMURLError.self) { try OAuthEndpoints.validateEntraTenant(tenant) }
    }

    @Test("consumers is refused with advice to use organizations")
    func consumersMessage() {
        do throws(SCMURLError) {
            try OAuthEndpoints.validateEntraTenant("consumers")
            Issue.record("consumers accepted")
        } catch {
            #expect(error.message.contains("organizations"))
        }
    }
}
