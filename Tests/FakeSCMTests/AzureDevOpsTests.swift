import FakeSCM
import Foundation
import Testing

@Suite struct LegacyTests {
    let app = Apps.legacy

    @Test func fullFlowQuirks() async throws {
        try await Harness.run { h in
            let state = "legacy state/with spaces+plus"
            let authorize = try await h.authorize(.legacy, h.authorizeParameters(app, verifier: nil, state: state))
            #expect(authorize.status == 302)
            #expect(authorize.redirectTarget == app.redirectURIs[0])
            #expect(authorize.redirectQuery["state"] == state)
            let code = try #require(authorize.redirectQuery["code"])
            let answer = try await h.redeem(app, code: code, verifier: nil)
            #expect(answer.status == 200)
            #expect(answer.json["token_type"] as? String == "jwt-bearer")
            #expect(answer.json["expires_in"] as? String == "3599")
            #expect(answer.json["scope"] as? String == "vso.code_write")
            let access = try #require(answer.json["access_token"] as? String)
            #expect(answer.json["refresh_token"] is String)
            let me = try await h.whoAmI(.legacy, access)
            #expect(me.status == 200)
            #expect((me.json["authenticatedUser"] as? [String: Any])?["providerDisplayName"] as? String == "Alice Example")
            #expect(h.fake.stats[.legacy].apiCalls == 1)
        }
    }

    @Test func responseTypeMustBeAssertion() async throws {
        try await Harness.run { h in
            var parameters = h.authorizeParameters(app, verifier: nil)
            parameters = parameters.map { $0.0 == "response_type" ? ("response_type", "code") : $0 }
            let answer = try await h.authorize(.legacy, parameters)
            #expect(answer.redirectQuery["error"] == "unsupported_response_type")
        }
    }

    @Test func appSecretAndWrongSecret() async throws {
        try await Harness.run { h in
            let code = try await h.code(app, verifier: nil)
            let appSecret = try await h.redeem(app, code: code, verifier: nil, secret: app.appSecret)
            #expect(appSecret.status == 401)
            #expect(appSecret.json["Error"] as? String == "invalid_client")
            #expect((appSecret.json["ErrorDescription"] as? String)?.hasSuffix("Failed to deserialize the JsonWebToken object.") == true)
            #expect(appSecret.json["error"] == nil)
            let wrong = try await h.redeem(app, code: code, verifier: nil, secret: "nope")
            #expect(wrong.status == 401)
            #expect(wrong.json["ErrorDescription"] as? String == "Invalid client assertion.")
        }
    }

    @Test func exactFormAndCodeReuse() async throws {
        try await Harness.run { h in
            let code = try await h.code(app, verifier: nil)
            let wrongType = try await h.post(h.tokenURL(.legacy), form: [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
                ("client_assertion", app.clientSecret), ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", code), ("redirect_uri", app.redirectURIs[0]),
            ])
            #expect(wrongType.status == 400)
            #expect(wrongType.json["Error"] as? String == "invalid_request")
            let missingRedirect = try await h.post(h.tokenURL(.legacy), form: [
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", app.clientSecret), ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", code),
            ])
            #expect(missingRedirect.status == 400)
            let first = try await h.redeem(app, code: code, verifier: nil)
            #expect(first.status == 200)
            let second = try await h.redeem(app, code: code, verifier: nil)
            #expect(second.status == 400)
            #expect(second.json["Error"] as? String == "invalid_grant")
            #expect(second.json["ErrorDescription"] is String)
        }
    }

    @Test func refreshRotatesAndOldFails() async throws {
        try await Harness.run { h in
            let first = try await h.tokens(app)
            let old = try #require(first["refresh_token"] as? String)
            let refreshed = try await h.refresh(app, old)
            #expect(refreshed.status == 200)
            #expect(refreshed.json["expires_in"] as? String == "3599")
            let new = try #require(refreshed.json["refresh_token"] as? String)
            #expect(new != old)
            #expect(!h.fake.isActive(refreshToken: old))
            let reuse = try await h.refresh(app, old)
            #expect(reuse.status == 400)
            #expect(reuse.json["Error"] as? String == "invalid_grant")
            let next = try await h.refresh(app, new)
            #expect(next.status == 200)
        }
    }
}

@Suite struct AzureDevOpsAPITests {
    @Test func signInPageQuirkAndStatuses() async throws {
        try await Harness.run { h in
            let url = h.fake.apiURL(.entra, organization: "contoso") + "/_apis/connectionData"
            let anonymous = try await h.get(url)
            #expect(anonymous.status == 203)
            #expect(anonymous.header("Content-Type")?.hasPrefix("text/html") == true)
            let bad = try await h.get(url, headers: [("Authorization", "Bearer nonsense")])
            #expect(bad.status == 203)
            let suppressed = try await h.get(url, headers: [("Authorization", "Bearer nonsense"), ("X-TFS-FedAuthRedirect", "Suppress")])
            #expect(suppressed.status == 401)
            let unknownOrg = try await h.get(h.fake.apiURL(.entra, organization: "nowhere") + "/_apis/connectionData",
                                             headers: [("X-TFS-FedAuthRedirect", "Suppress")])
            #expect(unknownOrg.status == 404)
        }
    }

    @Test func expiredTokensGet401() async throws {
        try await Harness.run { h in
            let tokens = try await h.tokens(Apps.entra)
            let access = try #require(tokens["access_token"] as? String)
            h.fake.advanceClock(by: 3600)
            #expect(!h.fake.isActive(accessToken: access))
            let me = try await h.whoAmI(.entra, access)
            #expect(me.status == 401)
        }
    }

    @Test func blockedThirdPartyOAuthAndPATs() async throws {
        try await Harness.run { h in
            h.fake.addOrganization("fabrikam")
            h.fake.blockThirdPartyOAuth(organization: "fabrikam")
            for app in [Apps.entra, Apps.legacy] {
                let tokens = try await h.tokens(app)
                let access = try #require(tokens["access_token"] as? String)
                let blocked = try await h.whoAmI(app.kind, access, organization: "fabrikam")
                #expect(blocked.status == 401)
                #expect((blocked.json["message"] as? String)?.hasPrefix("TF400813: The user '") == true)
                #expect(blocked.json["typeKey"] as? String == "UnauthorizedRequestException")
                #expect(blocked.json["eventId"] as? Int == 3000)
                #expect(blocked.json["$id"] as? String == "1")
                let open = try await h.whoAmI(app.kind, access, organization: "contoso")
                #expect(open.status == 200)
            }
            let bob = FakeSCM.User(id: "b0b00000-0000-4000-8000-000000000001", login: "bob", displayName: "Bob Builder", email: "bob@fabrikam.example")
            h.fake.addPAT(organization: "fabrikam", token: "pat-123", user: bob)
            let url = h.fake.apiURL(.entra, organization: "fabrikam") + "/_apis/connectionData"
            let pat = try await h.get(url, headers: [Harness.basic("anything", "pat-123"), ("X-TFS-FedAuthRedirect", "Suppress")])
            #expect(pat.status == 200)
            #expect((pat.json["authenticatedUser"] as? [String: Any])?["providerDisplayName"] as? String == "Bob Builder")
            let emptyUser = try await h.get(url, headers: [Harness.basic("", "pat-123"), ("X-TFS-FedAuthRedirect", "Suppress")])
            #expect(emptyUser.status == 200)
            let otherOrg = try await h.get(h.fake.apiURL(.entra, organization: "contoso") + "/_apis/connectionData",
                                           headers: [Harness.basic("x", "pat-123"), ("X-TFS-FedAuthRedirect", "Suppress")])
            #expect(otherOrg.status == 401)
        }
    }

    @Test func tenantDiscovery() async throws {
        try await Harness.run { h in
            h.fake.addOrganization("Tailspin", tenant: Apps.tenant)
            let answer = try await h.head(h.fake.baseURL + "/ado/tailspin")
            #expect(answer.header("X-VSS-ResourceTenant") == Apps.tenant)
            let personal = try await h.head(h.fake.baseURL + "/ado/contoso")
            #expect(personal.header("X-VSS-ResourceTenant") == "00000000-0000-0000-0000-000000000000")
        }
    }
}
