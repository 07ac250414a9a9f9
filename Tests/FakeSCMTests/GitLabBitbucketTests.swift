import FakeSCM
import Foundation
import Testing

@Suite struct GitLabTests {
    let app = Apps.gitlab

    @Test func fullFlowUserAndTokenInfo() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 7200)
            #expect(json["scope"] as? String == "read_user write_repository")
            let createdAt = try #require(json["created_at"] as? Int)
            #expect(abs(Double(createdAt) - Date().timeIntervalSince1970) < 60)
            let access = try #require(json["access_token"] as? String)
            #expect(json["refresh_token"] is String)
            let me = try await h.whoAmI(.gitlab, access)
            #expect(me.status == 200)
            #expect(me.json["id"] as? Int == 42)
            #expect(me.json["username"] as? String == "alice")
            #expect(me.json["name"] as? String == "Alice Example")
            let info = try await h.get(h.fake.authority(.gitlab) + "/oauth/token/info", headers: [("Authorization", "Bearer \(access)")])
            #expect(info.status == 200)
            #expect(info.json["scope"] as? [String] == ["read_user", "write_repository"])
            #expect((info.json["application"] as? [String: Any])?["uid"] as? String == app.clientID)
        }
    }

    @Test func userEndpointNeedsAUserScope() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier, scope: "write_repository")
            let answer = try await h.redeem(app, code: code, verifier: verifier)
            let access = try #require(answer.json["access_token"] as? String)
            let me = try await h.whoAmI(.gitlab, access)
            #expect(me.status == 403)
            #expect(me.json["error"] as? String == "insufficient_scope")
            let unknownScope = try await h.authorize(.gitlab, h.authorizeParameters(app, verifier: verifier, scope: "repo"))
            #expect(unknownScope.redirectQuery["error"] == "invalid_scope")
        }
    }

    @Test func strictRotationKillsOldAccessAndRefresh() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            let oldAccess = try #require(json["access_token"] as? String)
            let oldRefresh = try #require(json["refresh_token"] as? String)
            let refreshed = try await h.refresh(app, oldRefresh)
            #expect(refreshed.status == 200)
            let newAccess = try #require(refreshed.json["access_token"] as? String)
            #expect(!h.fake.isActive(accessToken: oldAccess))
            #expect(!h.fake.isActive(refreshToken: oldRefresh))
            let oldMe = try await h.whoAmI(.gitlab, oldAccess)
            #expect(oldMe.status == 401)
            let newMe = try await h.whoAmI(.gitlab, newAccess)
            #expect(newMe.status == 200)
            let reuse = try await h.refresh(app, oldRefresh)
            #expect(reuse.status == 400)
            #expect(reuse.json["error"] as? String == "invalid_grant")
            #expect((reuse.json["error_description"] as? String)?.hasPrefix("The provided authorization grant is invalid, expired, revoked") == true)
        }
    }

    @Test func revokeStopsTheToken() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            let access = try #require(json["access_token"] as? String)
            let refresh = try #require(json["refresh_token"] as? String)
            let url = h.fake.authority(.gitlab) + "/oauth/revoke"
            let wrong = try await h.post(url, form: [("client_id", app.clientID), ("client_secret", "nope"), ("token", access)])
            #expect(wrong.status == 401)
            #expect(h.fake.isActive(accessToken: access))
            let answer = try await h.post(url, form: [("client_id", app.clientID), ("client_secret", app.clientSecret), ("token", access)])
            #expect(answer.status == 200)
            #expect(answer.body == "{}")
            #expect(!h.fake.isActive(accessToken: access))
            #expect(!h.fake.isActive(refreshToken: refresh))
            let me = try await h.whoAmI(.gitlab, access)
            #expect(me.status == 401)
            #expect(h.fake.stats.revocations == 1)
        }
    }

    @Test func errorsInGitLabFormat() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(app, verifier: verifier)
            let wrongSecret = try await h.redeem(app, code: code, verifier: verifier, secret: "nope")
            #expect(wrongSecret.status == 401)
            #expect(wrongSecret.json["error"] as? String == "invalid_client")
            let pkce = try await h.redeem(app, code: code, verifier: FakeSCM.makePKCEVerifier())
            #expect(pkce.status == 400)
            #expect(pkce.json["error"] as? String == "invalid_grant")
            let redirect = try await h.redeem(app, code: code, verifier: verifier, redirectURI: "http://127.0.0.1:8080/x")
            #expect(redirect.json["error"] as? String == "invalid_grant")
            let ok = try await h.redeem(app, code: code, verifier: verifier)
            #expect(ok.status == 200)
            let reuse = try await h.redeem(app, code: code, verifier: verifier)
            #expect(reuse.status == 400)
            #expect(reuse.json["error"] as? String == "invalid_grant")
            let missing = try await h.post(h.tokenURL(.gitlab), form: [("grant_type", "authorization_code"), ("client_id", app.clientID)])
            #expect(missing.status == 400)
            #expect(missing.json["error"] as? String == "invalid_request")
        }
    }
}

@Suite struct BitbucketTests {
    let app = Apps.bitbucket

    @Test func fullFlowAndNonRotatingRefresh() async throws {
        try await Harness.run { h in
            let json = try await h.tokens(app)
            #expect(json["scopes"] as? String == "repository:write account")
            #expect(json["token_type"] as? String == "bearer")
            #expect(json["state"] as? String == "authorization_code")
            #expect(json["expires_in"] as? Int == 7200)
            let access = try #require(json["access_token"] as? String)
            let refresh = try #require(json["refresh_token"] as? String)
            #expect(refresh.contains("+") && refresh.contains("/"))
            let me = try await h.whoAmI(.bitbucket, access)
            #expect(me.status == 200)
            #expect(me.json["username"] as? String == "alice")
            #expect(me.json["display_name"] as? String == "Alice Example")
            #expect((me.json["uuid"] as? String)?.hasPrefix("{") == true)
            #expect(me.json["account_id"] is String)

            let refreshed = try await h.refresh(app, refresh)
            #expect(refreshed.status == 200)
            #expect(refreshed.json["state"] as? String == "refresh_token")
            #expect(refreshed.json["refresh_token"] as? String == refresh)
            #expect(refreshed.json["access_token"] as? String != access)
            // A refresh token sent without form encoding loses its '+'.
            let raw = try await h.post(h.tokenURL(.bitbucket), body: "grant_type=refresh_token&refresh_token=\(refresh)",
                                       headers: [Harness.basic(app.clientID, app.clientSecret)])
            #expect(raw.status == 400)
            #expect(raw.json["error"] as? String == "invalid_grant")
        }
    }

    @Test func clientCredentialsOnlyAsBasicAuth() async throws {
        try await Harness.run { h in
            let code = try await h.code(app, verifier: nil)
            let body = try await h.post(h.tokenURL(.bitbucket), form: [
                ("grant_type", "authorization_code"), ("code", code), ("client_id", app.clientID), ("client_secret", app.clientSecret),
            ])
            #expect(body.status == 400)
            #expect(body.json["error"] as? String == "invalid_client")
            let none = try await h.post(h.tokenURL(.bitbucket), form: [("grant_type", "authorization_code"), ("code", code)])
            #expect(none.status == 401)
            #expect(none.json["error"] as? String == "invalid_client")
            let wrong = try await h.redeem(app, code: code, verifier: nil, secret: "nope")
            #expect(wrong.status == 401)
            let ok = try await h.redeem(app, code: code, verifier: nil)
            #expect(ok.status == 200)
            let reuse = try await h.redeem(app, code: code, verifier: nil)
            #expect(reuse.status == 400)
            #expect(reuse.json["error"] as? String == "invalid_grant")
        }
    }

    @Test func authorizeWithoutRedirectURIUsesTheCallback() async throws {
        try await Harness.run { h in
            let answer = try await h.authorize(.bitbucket, [("client_id", app.clientID), ("response_type", "code"), ("state", "s1")])
            #expect(answer.status == 302)
            #expect(answer.redirectTarget == app.redirectURIs[0])
            let code = try #require(answer.redirectQuery["code"])
            let mismatch = try await h.post(h.tokenURL(.bitbucket), form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "http://127.0.0.1:8080/x"),
            ], headers: [Harness.basic(app.clientID, app.clientSecret)])
            #expect(mismatch.status == 400)
            let ok = try await h.redeem(app, code: code, verifier: nil)
            #expect(ok.status == 200)
        }
    }
}
