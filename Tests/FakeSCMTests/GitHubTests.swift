import FakeSCM
import Foundation
import Testing

@Suite struct GitHubTests {
    let app = Apps.github

    @Test func fullFlowWithJSON() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            let access = try #require(json["access_token"] as? String)
            #expect(access.hasPrefix("ghu_"))
            #expect(json["token_type"] as? String == "bearer")
            #expect(json["scope"] as? String == "repo")
            #expect(json["expires_in"] as? Int == 28800)
            #expect((json["refresh_token"] as? String)?.hasPrefix("ghr_") == true)
            #expect(json["refresh_token_expires_in"] as? Int == 15_897_600)
            for scheme in ["Bearer", "token"] {
                let me = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "\(scheme) \(access)")])
                #expect(me.status == 200)
                #expect(me.json["login"] as? String == "alice")
                #expect(me.json["id"] as? Int == 583_231)
                #expect(me.json["name"] as? String == "Alice Example")
            }
            let bad = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "Bearer gho_nope")])
            #expect(bad.status == 401)
            #expect(bad.json["message"] as? String == "Bad credentials")
        }
    }

    @Test func formEncodedWithoutAccept() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let answer = try await h.redeem(app, code: code, verifier: verifier, accept: false)
            #expect(answer.status == 200)
            #expect(answer.header("Content-Type")?.hasPrefix("application/x-www-form-urlencoded") == true)
            #expect(answer.form["access_token"]?.hasPrefix("ghu_") == true)
            #expect(answer.form["token_type"] == "bearer")
            #expect(answer.form["scope"] == "repo")
            #expect(answer.form["expires_in"] == "28800")
            let reuse = try await h.redeem(app, code: code, verifier: verifier, accept: false)
            #expect(reuse.status == 200)
            #expect(reuse.form["error"] == "bad_verification_code")
        }
    }

    @Test func errorsAreHTTP200() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let wrongSecret = try await h.redeem(app, code: code, verifier: verifier, secret: "wrong")
            #expect(wrongSecret.status == 200)
            #expect(wrongSecret.json["error"] as? String == "incorrect_client_credentials")
            let redirect = try await h.redeem(app, code: code, verifier: verifier, redirectURI: "http://127.0.0.1:8080/elsewhere")
            #expect(redirect.status == 200)
            #expect(redirect.json["error"] as? String == "redirect_uri_mismatch")
            let pkce = try await h.redeem(app, code: code, verifier: FakeSCM.makePKCEVerifier())
            #expect(pkce.status == 200)
            #expect(pkce.json["error"] as? String == "bad_verification_code")
            let ok = try await h.redeem(app, code: code, verifier: verifier)
            #expect(ok.json["access_token"] is String)
            let reuse = try await h.redeem(app, code: code, verifier: verifier)
            #expect(reuse.status == 200)
            #expect(reuse.json["error"] as? String == "bad_verification_code")
            #expect(reuse.json["error_description"] as? String == "The code passed is incorrect or expired.")
            #expect(reuse.json["error_uri"] is String)
            let badRefresh = try await h.refresh(app, "ghr_unknown")
            #expect(badRefresh.status == 200)
            #expect(badRefresh.json["error"] as? String == "bad_refresh_token")
            let unknownClient = try await h.redeem(FakeSCM.App(kind: .github, clientID: "ghost", clientSecret: "x", redirectURIs: app.redirectURIs),
                                                   code: code, verifier: verifier)
            #expect(unknownClient.json["error"] as? String == "incorrect_client_credentials")
            #expect(h.fake.stats[.github].tokenFailures == 6)
        }
    }

    @Test func pkceRequiredAtAuthorize() async throws {
        try await Harness.run { h in
            let missing = try await h.authorize(.github, h.authorizeParameters(app, verifier: nil))
            #expect(missing.status == 302)
            #expect(missing.redirectQuery["error"] == "invalid_request")
            #expect(missing.redirectQuery["code"] == nil)
            let unknown = try await h.authorize(.github, [("client_id", "ghost"), ("redirect_uri", app.redirectURIs[0]), ("state", "s")])
            #expect(unknown.status == 400)
            #expect(unknown.header("Location") == nil)
        }
    }

    @Test func refreshRotatesAndOldFailsAtOnce() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            let old = try #require(json["refresh_token"] as? String)
            let refreshed = try await h.refresh(app, old)
            let new = try #require(refreshed.json["refresh_token"] as? String)
            #expect(new != old)
            #expect(!h.fake.isActive(refreshToken: old))
            let reuse = try await h.refresh(app, old)
            #expect(reuse.status == 200)
            #expect(reuse.json["error"] as? String == "bad_refresh_token")
            #expect(h.fake.isActive(refreshToken: new))
        }
    }

    @Test func classicOAuthAppTokensDoNotExpire() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(Apps.githubClassic)
            let access = try #require(json["access_token"] as? String)
            #expect(access.hasPrefix("gho_"))
            #expect(json["refresh_token"] == nil)
            #expect(json["expires_in"] == nil)
            h.fake.advanceClock(by: 90 * 86400)
            let me = try await h.whoAmI(.github, access)
            #expect(me.status == 200)
            #expect(me.header("X-OAuth-Scopes") == "repo")
        }
    }
}
