import FakeSCM
import Foundation
import Testing

/// Personal access tokens at each provider's REST API.
extension Harness {
    static let suppress = ("X-TFS-FedAuthRedirect", "Suppress")

    func connectionData(_ organization: String, _ headers: [(String, String)]) async throws -> HTTPResult {
        try await get(fake.apiURL(.entra, organization: organization) + "/_apis/connectionData", headers: headers)
    }

    func connectionData(_ headers: [(String, String)]) async throws -> HTTPResult {
        try await connectionData("contoso", headers)
    }

    func repositories(_ organization: String, query: String = "?api-version=7.1", _ headers: [(String, String)]) async throws -> HTTPResult {
        try await get(fake.apiURL(.entra, organization: organization) + "/_apis/git/repositories" + query, headers: headers)
    }

    func repositories(query: String = "?api-version=7.1", _ headers: [(String, String)]) async throws -> HTTPResult {
        try await repositories("contoso", query: query, headers)
    }

    /// The PAT check each provider's runner code makes, with the PAT's own credentials form.
    func patCheck(_ pat: FakeSCM.PAT) async throws -> HTTPResult {
        switch pat.provider {
        case .azureDevOps:
            try await connectionData(pat.organization ?? "contoso", [Harness.basic("", pat.token), Harness.suppress])
        case .github:
            try await get(fake.apiURL(.github) + "/user", headers: [("Authorization", "token \(pat.token)")])
        case .gitlab:
            try await get(fake.apiURL(.gitlab) + "/personal_access_tokens/self", headers: [("PRIVATE-TOKEN", pat.token)])
        case .bitbucket:
            try await get(fake.apiURL(.bitbucket) + "/user", headers: [Harness.basic(pat.username ?? "alice", pat.token)])
        }
    }
}

enum PATs {
    static let ado = FakeSCM.PAT(provider: .azureDevOps, token: "ado-pat-contoso", organization: "contoso")
    static let github = FakeSCM.PAT(provider: .github, token: "ghp_classic0000000000000000000000000000", scopes: ["repo", "read:org"])
    static let gitlab = FakeSCM.PAT(provider: .gitlab, token: "glpat-test000000000000", scopes: ["read_user", "read_repository"])
    static let bitbucket = FakeSCM.PAT(provider: .bitbucket, token: "bb-api-token", username: "alice@contoso.example")

    static func `for`(_ provider: FakeSCM.Provider) -> FakeSCM.PAT {
        switch provider {
        case .azureDevOps: ado
        case .github: github
        case .gitlab: gitlab
        case .bitbucket: bitbucket
        }
    }

    /// 2030-12-27 10:00:00 UTC.
    static let farExpiry = Date(timeIntervalSince1970: 1_924_596_000)
}

@Suite struct PATTests {
    // MARK: Every provider

    @Test(arguments: FakeSCM.Provider.allCases)
    func validRevokedAndExpired(_ provider: FakeSCM.Provider) async throws {
        try await Harness.run { h in
            var pat = PATs.for(provider)
            h.fake.add(pat)
            #expect(h.fake.isActive(pat: pat.token))
            let valid = try await h.patCheck(pat)
            #expect(valid.status == 200, "\(provider)")
            h.fake.revoke(pat: pat.token)
            #expect(!h.fake.isActive(pat: pat.token))
            let revoked = try await h.patCheck(pat)
            #expect(revoked.status == 401, "\(provider)")

            pat.token += "-expiring"
            pat.expiresAt = h.fake.now.addingTimeInterval(3600)
            h.fake.add(pat)
            let beforeExpiry = try await h.patCheck(pat)
            #expect(beforeExpiry.status == 200, "\(provider)")
            h.fake.advanceClock(by: 3601)
            let expired = try await h.patCheck(pat)
            #expect(expired.status == 401, "\(provider)")

            pat.token = "never-registered"
            let unknown = try await h.patCheck(pat)
            #expect(unknown.status == 401, "\(provider)")

            let counts = h.fake.stats[pat: provider]
            #expect(counts.apiCalls == 4, "unknown tokens are not PAT calls")
            #expect(counts.refused == 2)
            #expect(counts.rateLimited == 0)
            #expect(h.fake.stats.patCalls == 4)
        }
    }

    // MARK: Azure DevOps

    @Test func adoSignInPageWithoutSuppressHeader() async throws {
        try await Harness.run { h in
            h.fake.add(PATs.ado)
            let anyUser = try await h.connectionData([Harness.basic("whoever", PATs.ado.token)])
            #expect(anyUser.status == 200)
            let identity = try #require(anyUser.json["authenticatedUser"] as? [String: Any])
            #expect(identity["providerDisplayName"] as? String == "Alice Example")
            #expect(identity["id"] as? String == FakeSCM.User.alice.id)

            let page = try await h.connectionData([Harness.basic("", "wrong-pat")])
            #expect(page.status == 203)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.body.contains("<html"))

            let suppressed = try await h.connectionData([Harness.basic("", "wrong-pat"), Harness.suppress])
            #expect(suppressed.status == 401)
            #expect(suppressed.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(suppressed.json["message"] as? String == "Unauthorized")
            #expect(!suppressed.body.contains("TF400813"))

            h.fake.revoke(pat: PATs.ado.token)
            let revokedPage = try await h.connectionData([Harness.basic("", PATs.ado.token)])
            #expect(revokedPage.status == 203)
            let revoked = try await h.connectionData([Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(revoked.status == 401)
        }
    }

    @Test func adoWrongAndUnknownOrganization() async throws {
        try await Harness.run { h in
            let fabrikam = FakeSCM.PAT(provider: .azureDevOps, token: "fabrikam-pat", organization: "Fabrikam")
            h.fake.add(fabrikam)
            let own = try await h.connectionData("fabrikam", [Harness.basic("", fabrikam.token), Harness.suppress])
            #expect(own.status == 200, "organization names are case-insensitive")
            let other = try await h.connectionData("contoso", [Harness.basic("", fabrikam.token), Harness.suppress])
            #expect(other.status == 401)
            let otherPage = try await h.connectionData("contoso", [Harness.basic("", fabrikam.token)])
            #expect(otherPage.status == 203)
            for headers in [[Harness.basic("", fabrikam.token), Harness.suppress], [Harness.basic("", "junk")], []] {
                let unknown = try await h.connectionData("nowhere", headers)
                #expect(unknown.status == 404)
                #expect((unknown.json["message"] as? String)?.contains("nowhere") == true)
                let repositories = try await h.repositories("nowhere", headers)
                #expect(repositories.status == 404)
            }
            // Nil organization: an "all accessible organizations" PAT.
            h.fake.add(FakeSCM.PAT(provider: .azureDevOps, token: "global-pat"))
            for organization in ["contoso", "fabrikam"] {
                let global = try await h.connectionData(organization, [Harness.basic("", "global-pat"), Harness.suppress])
                #expect(global.status == 200)
            }
            #expect(h.fake.stats[pat: .azureDevOps].refused == 2)
            #expect(h.fake.stats[.entra].apiCalls == 0, "PAT calls are not OAuth calls")
        }
    }

    @Test func adoCodeReadProbe() async throws {
        try await Harness.run { h in
            let noCode = FakeSCM.PAT(provider: .azureDevOps, token: "no-code-pat", organization: "contoso", canReadCode: false)
            h.fake.add(noCode)
            h.fake.add(PATs.ado)
            let who = try await h.connectionData([Harness.basic("", noCode.token), Harness.suppress])
            #expect(who.status == 200)
            for headers in [[Harness.basic("", noCode.token), Harness.suppress], [Harness.basic("", noCode.token)]] {
                let denied = try await h.repositories(headers)
                #expect(denied.status == 401)
                #expect(!denied.body.contains("TF400813"))
            }

            let listed = try await h.repositories([Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(listed.status == 200)
            #expect(listed.json["count"] as? Int == 1)
            let repository = try #require((listed.json["value"] as? [[String: Any]])?.first)
            #expect(repository["name"] as? String == "portal")
            #expect(repository["remoteUrl"] as? String == "https://dev.azure.com/contoso/web/_git/portal")
            #expect((repository["project"] as? [String: Any])?["name"] as? String == "web")
            #expect(UUID(uuidString: repository["id"] as? String ?? "") != nil)
            #expect(repository["url"] is String)

            let noVersion = try await h.repositories(query: "", [Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(noVersion.status == 400)
            #expect(noVersion.json["typeKey"] as? String == "VssVersionNotSpecifiedException")
            let acceptVersion = try await h.repositories(query: "", [Harness.basic("", PATs.ado.token), Harness.suppress,
                                                                     ("Accept", "application/json; api-version=7.1")])
            #expect(acceptVersion.status == 200)
            let tooNew = try await h.repositories(query: "?api-version=9.0", [Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(tooNew.status == 400)
            let badPAT = try await h.repositories(query: "", [Harness.basic("", "junk"), Harness.suppress])
            #expect(badPAT.status == 401, "credentials are checked before the api-version")

            h.fake.setRepositories(organization: "contoso", [])
            let empty = try await h.repositories([Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(empty.status == 200)
            #expect(empty.json["count"] as? Int == 0)
            #expect((empty.json["value"] as? [Any])?.isEmpty == true)

            h.fake.setRepositories(organization: "Contoso", ["Fabrikam Fiber/api server", "portal"])
            let two = try await h.repositories([Harness.basic("", PATs.ado.token), Harness.suppress])
            let values = try #require(two.json["value"] as? [[String: Any]])
            #expect(values.count == 2)
            #expect(values.first?["remoteUrl"] as? String == "https://dev.azure.com/contoso/Fabrikam%20Fiber/_git/api%20server")

            // OAuth tokens keep working: they can read code.
            let tokens = try await h.tokens(Apps.entra)
            let access = try #require(tokens["access_token"] as? String)
            let oauth = try await h.repositories([("Authorization", "Bearer \(access)"), Harness.suppress])
            #expect(oauth.status == 200)
            #expect(oauth.json["count"] as? Int == 2)
            h.fake.blockThirdPartyOAuth(organization: "contoso")
            let blocked = try await h.repositories([("Authorization", "Bearer \(access)"), Harness.suppress])
            #expect(blocked.status == 401)
            #expect((blocked.json["message"] as? String)?.hasPrefix("TF400813") == true)
            let patStillWorks = try await h.repositories([Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(patStillWorks.status == 200)
        }
    }

    // MARK: GitHub

    @Test func githubScopesAndExpirationHeaders() async throws {
        try await Harness.run { h in
            var classic = PATs.github
            classic.expiresAt = PATs.farExpiry
            h.fake.add(classic)
            let fineGrained = FakeSCM.PAT(provider: .github, token: "github_pat_11AAAAfinegrained", scopes: ["ignored"], expiresAt: PATs.farExpiry)
            h.fake.add(fineGrained)
            let noExpiry = FakeSCM.PAT(provider: .github, token: "ghp_noexpiry000000000000000000000000000")
            h.fake.add(noExpiry)

            let first = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "token \(classic.token)")])
            #expect(first.status == 200)
            #expect(first.json["login"] as? String == "alice")
            #expect(first.json["id"] as? Int == 583_231)
            #expect(first.header("X-OAuth-Scopes") == "repo, read:org")
            #expect(first.header("GitHub-Authentication-Token-Expiration") == "2030-12-27 10:00:00 UTC")
            #expect(first.header("X-RateLimit-Limit") == "5000")
            #expect(first.header("X-RateLimit-Remaining") == "4999")
            let second = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "Bearer \(classic.token)")])
            #expect(second.status == 200)
            #expect(second.header("X-RateLimit-Remaining") == "4998")

            let fine = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "Bearer \(fineGrained.token)")])
            #expect(fine.status == 200)
            #expect(fine.headerValues("X-OAuth-Scopes").isEmpty)
            #expect(fine.header("GitHub-Authentication-Token-Expiration") == "2030-12-27 10:00:00 UTC")

            let plain = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "token \(noExpiry.token)")])
            #expect(plain.status == 200)
            #expect(plain.header("X-OAuth-Scopes") == "")
            #expect(plain.header("GitHub-Authentication-Token-Expiration") == nil)

            let bad = try await h.get(h.fake.apiURL(.github) + "/user", headers: [("Authorization", "token ghp_nope")])
            #expect(bad.status == 401)
            #expect(bad.json["message"] as? String == "Bad credentials")
            #expect(bad.json["documentation_url"] is String)
            #expect(h.fake.stats[.github].apiCalls == 5)
        }
    }

    // MARK: GitLab

    @Test func gitlabSelfEndpointAndUserScopeRule() async throws {
        try await Harness.run { h in
            var pat = PATs.gitlab
            pat.expiresAt = PATs.farExpiry
            h.fake.add(pat)
            let repoOnly = FakeSCM.PAT(provider: .gitlab, token: "glpat-repoonly", scopes: ["read_repository"])
            h.fake.add(repoOnly)

            let selfCheck = try await h.get(h.fake.apiURL(.gitlab) + "/personal_access_tokens/self", headers: [("PRIVATE-TOKEN", pat.token)])
            #expect(selfCheck.status == 200)
            let json = selfCheck.json
            #expect(json["id"] is Int)
            #expect(json["name"] as? String == "scm-broker")
            #expect(json["revoked"] as? Bool == false)
            #expect(json["active"] as? Bool == true)
            #expect(json["scopes"] as? [String] == ["read_user", "read_repository"])
            #expect(json["user_id"] as? Int == 42)
            #expect(json["expires_at"] as? String == "2030-12-27")
            #expect(json["last_used_at"] is NSNull)
            let created = try #require(json["created_at"] as? String)
            #expect(created.hasSuffix("Z") && created.contains("T") && created.contains("."))

            let bearer = try await h.get(h.fake.apiURL(.gitlab) + "/personal_access_tokens/self", headers: [("Authorization", "Bearer \(repoOnly.token)")])
            #expect(bearer.status == 200)
            #expect(bearer.json["expires_at"] is NSNull)

            let me = try await h.get(h.fake.apiURL(.gitlab) + "/user", headers: [("PRIVATE-TOKEN", pat.token)])
            #expect(me.status == 200)
            #expect(me.json["username"] as? String == "alice")
            let bearerMe = try await h.get(h.fake.apiURL(.gitlab) + "/user", headers: [("Authorization", "Bearer \(pat.token)")])
            #expect(bearerMe.status == 200)
            let noUserScope = try await h.get(h.fake.apiURL(.gitlab) + "/user", headers: [("PRIVATE-TOKEN", repoOnly.token)])
            #expect(noUserScope.status == 403)
            #expect(noUserScope.json["error"] as? String == "insufficient_scope")

            h.fake.revoke(pat: pat.token)
            let revoked = try await h.get(h.fake.apiURL(.gitlab) + "/personal_access_tokens/self", headers: [("PRIVATE-TOKEN", pat.token)])
            #expect(revoked.status == 401)
            #expect(revoked.json["message"] as? String == "401 Unauthorized")
            #expect(revoked.header("WWW-Authenticate")?.contains("invalid_token") == true)
            let unknown = try await h.get(h.fake.apiURL(.gitlab) + "/user", headers: [("PRIVATE-TOKEN", "glpat-unknown")])
            #expect(unknown.status == 401)
        }
    }

    // MARK: Bitbucket

    @Test func bitbucketUsernameAndRepositories() async throws {
        try await Harness.run { h in
            h.fake.add(PATs.bitbucket)
            let defaultName = FakeSCM.PAT(provider: .bitbucket, token: "bb-default-name", canReadCode: false)
            h.fake.add(defaultName)
            let url = h.fake.apiURL(.bitbucket)

            let me = try await h.get(url + "/user", headers: [Harness.basic("alice@contoso.example", PATs.bitbucket.token)])
            #expect(me.status == 200)
            #expect(me.json["nickname"] as? String == "alice")
            for name in ["alice", "", "ALICE@contoso.example"] {
                let wrong = try await h.get(url + "/user", headers: [Harness.basic(name, PATs.bitbucket.token)])
                #expect(wrong.status == 401, "user name \(name)")
            }
            let asBearer = try await h.get(url + "/user", headers: [("Authorization", "Bearer \(PATs.bitbucket.token)")])
            #expect(asBearer.status == 401)
            let login = try await h.get(url + "/user", headers: [Harness.basic("alice", defaultName.token)])
            #expect(login.status == 200, "the user name defaults to the login")

            let auth = [Harness.basic("alice@contoso.example", PATs.bitbucket.token)]
            let listed = try await h.get(url + "/repositories/contoso?role=member", headers: auth)
            #expect(listed.status == 200)
            #expect(listed.json["pagelen"] as? Int == 10)
            let values = try #require(listed.json["values"] as? [[String: Any]])
            #expect(values.map { $0["full_name"] as? String } == ["contoso/portal"])

            h.fake.setRepositories(organization: "acme", [])
            let empty = try await h.get(url + "/repositories/acme?role=member", headers: auth)
            #expect(empty.status == 200)
            #expect((empty.json["values"] as? [Any])?.isEmpty == true)

            h.fake.setRepositories(organization: "big", (1...12).map { "repo-\($0)" })
            let page1 = try await h.get(url + "/repositories/big?role=member", headers: auth)
            #expect((page1.json["values"] as? [Any])?.count == 10)
            let next = try #require(page1.json["next"] as? String)
            let page2 = try await h.get(next, headers: auth)
            #expect((page2.json["values"] as? [Any])?.count == 2)
            #expect(page2.json["next"] == nil)

            let unknown = try await h.get(url + "/repositories/nowhere?role=member", headers: auth)
            #expect(unknown.status == 404)
            let badRole = try await h.get(url + "/repositories/contoso?role=boss", headers: auth)
            #expect(badRole.status == 400)
            let noCode = try await h.get(url + "/repositories/contoso?role=member", headers: [Harness.basic("alice", defaultName.token)])
            #expect(noCode.status == 403)
            let anonymous = try await h.get(url + "/repositories/contoso?role=member")
            #expect(anonymous.status == 401)
        }
    }

    // MARK: Rate limits and failures

    @Test(arguments: FakeSCM.Provider.allCases)
    func tooManyRequestsThenRecovery(_ provider: FakeSCM.Provider) async throws {
        try await Harness.run { h in
            let pat = PATs.for(provider)
            h.fake.add(pat)
            h.fake.rateLimitNext(provider, count: 2)
            // A refused PAT does not consume the armed limit.
            var junk = pat
            junk.token = "junk"
            let unknown = try await h.patCheck(junk)
            #expect(unknown.status == 401)
            for _ in 0..<2 {
                let limited = try await h.patCheck(pat)
                #expect(limited.status == 429, "\(provider)")
                #expect(limited.header("Retry-After") == "1", "\(provider)")
            }
            let recovered = try await h.patCheck(pat)
            #expect(recovered.status == 200, "\(provider)")
            #expect(h.fake.isActive(pat: pat.token))
            let counts = h.fake.stats[pat: provider]
            #expect(counts.apiCalls == 3)
            #expect(counts.rateLimited == 2)
            #expect(counts.refused == 0, "a rate limit is not a refusal")
        }
    }

    @Test func githubStyleRateLimitThenRecovery() async throws {
        try await Harness.run { h in
            h.fake.add(PATs.github)
            h.fake.add(PATs.ado)
            h.fake.rateLimitNext(.github, style: .githubForbidden)
            let before = h.fake.now.timeIntervalSince1970
            let limited = try await h.patCheck(PATs.github)
            #expect(limited.status == 403)
            #expect(limited.header("X-RateLimit-Remaining") == "0")
            let reset = try #require(limited.header("X-RateLimit-Reset").flatMap { Double($0) })
            // About a minute ahead; the upper bound leaves room for a loaded CI machine.
            #expect(reset >= before + 59 && reset <= before + 90)
            #expect(limited.json["message"] as? String == "API rate limit exceeded for user ID 583231.")
            let recovered = try await h.patCheck(PATs.github)
            #expect(recovered.status == 200)
            #expect(h.fake.stats[pat: .github].refused == 0)

            // Another provider's PATs and OAuth tokens are not affected.
            h.fake.rateLimitNext(.azureDevOps, style: .githubForbidden)
            let tokens = try await h.tokens(Apps.entra)
            let oauth = try await h.whoAmI(.entra, try #require(tokens["access_token"] as? String))
            #expect(oauth.status == 200)
            let limitedADO = try await h.patCheck(PATs.ado)
            #expect(limitedADO.status == 403)
            #expect(limitedADO.header("X-RateLimit-Remaining") == "0")
            let adoRecovered = try await h.repositories([Harness.basic("", PATs.ado.token), Harness.suppress])
            #expect(adoRecovered.status == 200)
        }
    }

    @Test(arguments: FakeSCM.Provider.allCases)
    func injectedServerErrors(_ provider: FakeSCM.Provider) async throws {
        try await Harness.run { h in
            let pat = PATs.for(provider)
            h.fake.add(pat)
            h.fake.failNextAPICalls(provider, status: 502, count: 2)
            for _ in 0..<2 {
                let failed = try await h.patCheck(pat)
                #expect(failed.status == 502, "\(provider)")
            }
            let ok = try await h.patCheck(pat)
            #expect(ok.status == 200, "\(provider)")
            h.fake.failNextAPICalls(provider)
            let unavailable = try await h.patCheck(pat)
            #expect(unavailable.status == 503)
            #expect(h.fake.stats[pat: provider].injectedFailures == 3)
            #expect(h.fake.isActive(pat: pat.token))
        }
    }

    @Test func injectedFailuresStayWithTheirProvider() async throws {
        try await Harness.run { h in
            h.fake.add(PATs.github)
            h.fake.add(PATs.gitlab)
            h.fake.failNextAPICalls(.gitlab, status: 500)
            let github = try await h.patCheck(PATs.github)
            #expect(github.status == 200)
            let token = try await h.get(h.fake.authority(.gitlab) + "/oauth/token/info", headers: [("Authorization", "Bearer nope")])
            #expect(token.status == 401, "OAuth endpoints are not API calls")
            let gitlab = try await h.patCheck(PATs.gitlab)
            #expect(gitlab.status == 500)
            let again = try await h.patCheck(PATs.gitlab)
            #expect(again.status == 200)
        }
    }
}
