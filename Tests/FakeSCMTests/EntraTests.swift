import FakeSCM
import Foundation
import Testing

@Suite struct EntraTests {
    let app = Apps.entra

    @Test func fullFlowAndConnectionData() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let answer = try await h.redeem(app, code: code, verifier: verifier)
            #expect(answer.status == 200)
            #expect(answer.header("Cache-Control") == "no-store")
            let json = answer.json
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 3599)
            #expect(json["ext_expires_in"] as? Int == 3599)
            #expect(json["scope"] as? String == "499b84ac-1321-427f-aa17-267ca6975798/vso.code_write")
            let access = try #require(json["access_token"] as? String)
            let refresh = try #require(json["refresh_token"] as? String)
            #expect(access.split(separator: ".").count == 3)
            #expect(h.fake.isActive(accessToken: access))
            #expect(h.fake.isActive(refreshToken: refresh))

            let me = try await h.whoAmI(.entra, access)
            #expect(me.status == 200)
            let user = me.json["authenticatedUser"] as? [String: Any]
            #expect(user?["providerDisplayName"] as? String == "Alice Example")
            #expect(user?["id"] as? String == FakeSCM.User.alice.id)
            let account = (user?["properties"] as? [String: Any])?["Account"] as? [String: Any]
            #expect(account?["$value"] as? String == "alice@contoso.example")
            #expect(account?["$type"] as? String == "System.String")

            let stats = h.fake.stats
            #expect(stats.authorizeRequests == 1)
            #expect(stats.codeRedemptions == 1)
            #expect(stats[.entra].apiCalls == 1)
        }
    }

    @Test func homeTenantWorksAndOtherTenantsDoNot() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let home = try await h.authorize(.entra, h.authorizeParameters(app, verifier: verifier), tenant: Apps.tenant)
            #expect(home.status == 302)
            let other = try await h.authorize(.entra, h.authorizeParameters(app, verifier: verifier), tenant: "fabrikam.example")
            #expect(other.status == 400)
            #expect(other.header("Location") == nil)
            #expect(other.body.contains("AADSTS700016"))
            let consumers = try await h.authorize(.entra, h.authorizeParameters(app, verifier: verifier), tenant: "consumers")
            #expect(consumers.status == 400)
        }
    }

    @Test func noOfflineAccessMeansNoRefreshToken() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier, scope: "499b84ac-1321-427f-aa17-267ca6975798/vso.code")
            let answer = try await h.redeem(app, code: code, verifier: verifier)
            #expect(answer.status == 200)
            #expect(answer.json["refresh_token"] == nil)
            #expect(answer.json["scope"] as? String == "499b84ac-1321-427f-aa17-267ca6975798/vso.code")
        }
    }

    @Test func invalidScopesRedirectWithInvalidScope() async throws {
        try await Harness.run { h in
            for scope in ["User.Read offline_access", "openid", "499b84ac-1321-427f-aa17-267ca6975798/.default 499b84ac-1321-427f-aa17-267ca6975798/vso.code"] {
                let answer = try await h.authorize(.entra, h.authorizeParameters(app, verifier: FakeSCM.makePKCEVerifier(), scope: scope))
                #expect(answer.status == 302)
                #expect(answer.redirectQuery["error"] == "invalid_scope")
                #expect(answer.redirectQuery["code"] == nil)
            }
        }
    }

    @Test func codeReuseFailsAndRevokesTheFirstTokens() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let first = try await h.redeem(app, code: code, verifier: verifier)
            let access = try #require(first.json["access_token"] as? String)
            let second = try await h.redeem(app, code: code, verifier: verifier)
            #expect(second.status == 400)
            #expect(second.json["error"] as? String == "invalid_grant")
            #expect((second.json["error_description"] as? String)?.hasPrefix("AADSTS54005: OAuth2 Authorization code was already redeemed") == true)
            #expect(second.json["error_codes"] as? [Int] == [54005])
            #expect(!h.fake.isActive(accessToken: access))
            let me = try await h.whoAmI(.entra, access)
            #expect(me.status == 401)
            #expect(h.fake.stats.tokenFailures == 1)
        }
    }

    @Test func unknownCodeIsAADSTS70008() async throws {
        try await Harness.run { h in
            let answer = try await h.redeem(app, code: "not-a-code", verifier: FakeSCM.makePKCEVerifier())
            #expect(answer.status == 400)
            #expect((answer.json["error_description"] as? String)?.hasPrefix("AADSTS70008") == true)
        }
    }

    @Test func pkceIsRequiredAndChecked() async throws {
        try await Harness.run { h in
            var parameters = h.authorizeParameters(app, verifier: nil)
            let missing = try await h.authorize(.entra, parameters)
            #expect(missing.status == 302)
            #expect(missing.redirectQuery["error"] == "invalid_request")
            #expect(missing.redirectQuery["state"] == parameters.first { $0.0 == "state" }?.1)

            parameters += [("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "plain")]
            let plain = try await h.authorize(.entra, parameters)
            #expect(plain.redirectQuery["error"] == "invalid_request")

            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let wrong = try await h.redeem(app, code: code, verifier: FakeSCM.makePKCEVerifier())
            #expect(wrong.status == 400)
            #expect(wrong.json["error"] as? String == "invalid_grant")
            #expect((wrong.json["error_description"] as? String)?.hasPrefix(
                "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.") == true)
            let tooShort = try await h.redeem(app, code: code, verifier: "short")
            #expect(tooShort.json["error_codes"] as? [Int] == [501481])
            let absent = try await h.post(h.tokenURL(.entra), form: [
                ("grant_type", "authorization_code"), ("client_id", app.clientID), ("client_secret", app.clientSecret),
                ("code", code), ("redirect_uri", app.redirectURIs[0]),
            ])
            #expect(absent.status == 400)
            #expect(absent.json["error"] as? String == "invalid_request")
            // Failed attempts do not burn the code.
            let right = try await h.redeem(app, code: code, verifier: verifier)
            #expect(right.status == 200)
        }
    }

    @Test func wrongSecretSecretIDAndUnknownClient() async throws {
        try await Harness.run { h in
            for secret in ["wrong", app.secretID!] {
                let verifier = FakeSCM.makePKCEVerifier()
                let code = try await h.code(app, verifier: verifier)
                let answer = try await h.redeem(app, code: code, verifier: verifier, secret: secret)
                #expect(answer.status == 401)
                #expect(answer.json["error"] as? String == "invalid_client")
                #expect((answer.json["error_description"] as? String)?.hasPrefix(
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID") == true)
            }
            let unknown = try await h.post(h.tokenURL(.entra), form: [
                ("grant_type", "refresh_token"), ("client_id", "nobody"), ("client_secret", "x"), ("refresh_token", "y"),
            ])
            #expect(unknown.status == 401)
            #expect(unknown.json["error"] as? String == "invalid_client")
            #expect(unknown.json["error_codes"] as? [Int] == [700016])
        }
    }

    @Test func redirectURIMismatch() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let bad = try await h.authorize(.entra, h.authorizeParameters(app, verifier: verifier, redirectURI: "http://127.0.0.1:8080/oauth/callback/other"))
            #expect(bad.status == 400)
            #expect(bad.header("Location") == nil)
            #expect(bad.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(bad.body.contains("AADSTS50011"))

            let code = try await h.code(app, verifier: verifier)
            let mismatch = try await h.redeem(app, code: code, verifier: verifier, redirectURI: app.redirectURIs[0] + "/")
            #expect(mismatch.status == 400)
            #expect(mismatch.json["error"] as? String == "invalid_grant")
        }
    }

    @Test func refreshRotatesButOldTokenStaysValid() async throws {
        try await Harness.run { h in
            let first = try await h.tokens(app)
            let oldRefresh = try #require(first["refresh_token"] as? String)
            let oldAccess = try #require(first["access_token"] as? String)
            let refreshed = try await h.refresh(app, oldRefresh)
            #expect(refreshed.status == 200)
            let newRefresh = try #require(refreshed.json["refresh_token"] as? String)
            #expect(newRefresh != oldRefresh)
            #expect(refreshed.json["access_token"] as? String != oldAccess)
            #expect(h.fake.isActive(refreshToken: oldRefresh))
            #expect(h.fake.isActive(accessToken: oldAccess))
            let again = try await h.refresh(app, oldRefresh)
            #expect(again.status == 200)
            #expect(h.fake.stats.refreshes == 2)
        }
    }

    @Test func expiredCodeViaClock() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            h.fake.advanceClock(by: 601)
            let answer = try await h.redeem(app, code: code, verifier: verifier)
            #expect(answer.status == 400)
            #expect(answer.json["error_codes"] as? [Int] == [70008])
        }
    }

    @Test func strictFormHandling() async throws {
        try await Harness.run { h in
            let url = h.tokenURL(.entra)
            let repeated = try await h.post(url, body: "grant_type=refresh_token&grant_type=refresh_token&client_id=entra-app")
            #expect(repeated.status == 400)
            #expect(repeated.json["error"] as? String == "invalid_request")
            let json = try await h.post(url, body: #"{"grant_type":"refresh_token"}"#, contentType: "application/json")
            #expect(json.status == 400)
            #expect(json.json["error"] as? String == "invalid_request")
            let extra = try await h.post(url, form: [
                ("grant_type", "refresh_token"), ("client_id", app.clientID), ("client_secret", app.clientSecret),
                ("refresh_token", "x"), ("redirect_uri", app.redirectURIs[0]),
            ])
            #expect(extra.status == 400)
            #expect(extra.json["error"] as? String == "invalid_request")
            let get = try await h.get(url)
            #expect(get.status == 405)
            let unsupported = try await h.post(url, form: [("grant_type", "password")])
            #expect(unsupported.json["error"] as? String == "unsupported_grant_type")
        }
    }
}
