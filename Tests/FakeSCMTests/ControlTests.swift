import FakeSCM
import Foundation
import Testing

@Suite struct ControlTests {
    @Test func failNextAuthorize() async throws {
        try await Harness.run { h in
            h.fake.failNextAuthorize(error: "access_denied", description: "The user declined.")
            let parameters = h.authorizeParameters(Apps.gitlab, verifier: FakeSCM.makePKCEVerifier(), state: "keep me")
            let denied = try await h.authorize(.gitlab, parameters)
            #expect(denied.status == 302)
            #expect(denied.redirectTarget == Apps.gitlab.redirectURIs[0])
            #expect(denied.redirectQuery == ["error": "access_denied", "error_description": "The user declined.", "state": "keep me"])
            let next = try await h.authorize(.gitlab, parameters)
            #expect(next.redirectQuery["code"] != nil)
            #expect(h.fake.stats.authorizeRequests == 2)
        }
    }

    @Test func unknownClientAndBadRedirectGetAPageNotARedirect() async throws {
        try await Harness.run { h in
            for kind in FakeSCM.Kind.allCases {
                let app = Apps.for(kind)
                let verifier = FakeSCM.makePKCEVerifier()
                var unknown = h.authorizeParameters(app, verifier: verifier)
                unknown[0] = ("client_id", "ghost")
                let page = try await h.authorize(kind, unknown)
                #expect(page.status == 400, "\(kind)")
                #expect(page.header("Location") == nil, "\(kind)")
                let badRedirect = try await h.authorize(kind, h.authorizeParameters(app, verifier: verifier, redirectURI: "https://evil.example/cb"))
                #expect(badRedirect.status == 400, "\(kind)")
                #expect(badRedirect.header("Location") == nil, "\(kind)")
                let noState = try await h.authorize(kind, h.authorizeParameters(app, verifier: verifier).filter { $0.0 != "state" })
                #expect(noState.redirectQuery["error"] == "invalid_request", "\(kind)")
            }
        }
    }

    @Test func transientTokenFailures() async throws {
        try await Harness.run { h in
            let verifier = FakeSCM.makePKCEVerifier()
            let code = try await h.code(Apps.github, verifier: verifier)
            h.fake.failNextTokenRequests(status: 503, count: 2)
            let first = try await h.redeem(Apps.github, code: code, verifier: verifier)
            #expect(first.status == 503)
            #expect(first.header("Retry-After") == "1")
            let second = try await h.redeem(Apps.github, code: code, verifier: verifier)
            #expect(second.status == 503)
            let third = try await h.redeem(Apps.github, code: code, verifier: verifier)
            #expect(third.status == 200)
            #expect(third.json["access_token"] is String)
        }
    }

    @Test func accessTokenLifetimeAndClock() async throws {
        try await Harness.run { h in
            h.fake.accessTokenLifetime = 60
            #expect(h.fake.accessTokenLifetime == 60)
            for kind in FakeSCM.Kind.allCases {
                let json = try await h.tokens(Apps.for(kind))
                let access = try #require(json["access_token"] as? String)
                if kind == .legacy {
                    #expect(json["expires_in"] as? String == "60")
                } else {
                    #expect(json["expires_in"] as? Int == 60, "\(kind)")
                }
                let before = try await h.whoAmI(kind, access)
                #expect(before.status == 200, "\(kind)")
                h.fake.advanceClock(by: 61)
                #expect(!h.fake.isActive(accessToken: access))
                let after = try await h.whoAmI(kind, access)
                #expect(after.status == 401, "\(kind)")
            }
        }
    }

    @Test func loopbackDemoModeStillBindsTheRedirect() async throws {
        try await Harness.run { h in
            let app = Apps.gitlab
            let verifier = FakeSCM.makePKCEVerifier()
            let loopback = "http://localhost:9999/oauth/callback/anything"
            let off = try await h.authorize(.gitlab, h.authorizeParameters(app, verifier: verifier, redirectURI: loopback))
            #expect(off.status == 400)
            h.fake.allowAnyLoopbackRedirect = true
            let code = try await h.code(app, verifier: verifier, redirectURI: loopback)
            let remote = try await h.authorize(.gitlab, h.authorizeParameters(app, verifier: verifier, redirectURI: "https://example.com/cb"))
            #expect(remote.status == 400)
            let registered = try await h.redeem(app, code: code, verifier: verifier)
            #expect(registered.status == 400)
            let same = try await h.redeem(app, code: code, verifier: verifier, redirectURI: loopback)
            #expect(same.status == 200)
        }
    }

    @Test func currentUserIsWhoTheAPIsReport() async throws {
        try await Harness.run { h in
            let carol = FakeSCM.User(id: "1234", login: "carol", displayName: "Carol Example", email: "carol@example.test")
            h.fake.setCurrentUser(carol)
            let github = try await h.tokens(Apps.github)
            let me = try await h.whoAmI(.github, try #require(github["access_token"] as? String))
            #expect(me.json["login"] as? String == "carol")
            #expect(me.json["id"] as? Int == 1234)
            let entra = try await h.tokens(Apps.entra)
            let ado = try await h.whoAmI(.entra, try #require(entra["access_token"] as? String))
            let user = ado.json["authenticatedUser"] as? [String: Any]
            #expect(user?["providerDisplayName"] as? String == "Carol Example")
            #expect((user?["id"] as? String)?.count == 36)
        }
    }

    @Test func concurrentFlows() async throws {
        try await Harness.run { h in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    let kind = FakeSCM.Kind.allCases[index % FakeSCM.Kind.allCases.count]
                    group.addTask {
                        let json = try await h.tokens(Apps.for(kind))
                        let me = try await h.whoAmI(kind, json["access_token"] as? String ?? "")
                        return me.status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            let stats = h.fake.stats
            #expect(stats.codeRedemptions == 20)
            #expect(stats.apiCalls == 20)
            #expect(stats[.bitbucket].codeRedemptions == 4)
        }
    }

    @Test func portInUseFailsToStart() async throws {
        let first = try await FakeSCM.start()
        #expect(first.port > 0)
        #expect(first.baseURL == "http://127.0.0.1:\(first.port)")
        #expect(first.authority(.entra) == first.baseURL + "/entra")
        #expect(first.apiURL(.legacy, organization: "contoso") == first.baseURL + "/ado/contoso")
        #expect(first.apiURL(.gitlab) == first.baseURL + "/gitlab/api/v4")
        await #expect(throws: (any Error).self) {
            let second = try await FakeSCM.start(port: first.port)
            await second.stop()
        }
        await first.stop()
        await first.stop()
    }
}
