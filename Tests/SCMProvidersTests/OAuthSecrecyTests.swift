import Testing
@testable import SCMProviders

/// No failure message, error code or description ever carries a token, code or secret: not
/// from the request (a server echoing it back) nor from the response's own fields.
@Suite("OAuth failures keep secrets out")
struct OAuthSecrecyTests {
    static let code = "PLANTcode7f3a9c2e1b4d6f8a0c2e4a6"
    static let secret = "PLANTsecret~9Q.8w-7e_6r5t4y3u2i1o0p"
    static let verifier = "PLANTverifier0123456789abcdefghijklmnop"
    static let refresh = "PLANTrefresh1a2b3c4d5e6f7a8b9c0d1e2f"
    static let access = "PLANTaccess9z8y7x6w5v4u3t2s1r0q9p8o"
    static let idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz"
    static let short = "sh0rt!"
    static let planted = [code, secret, verifier, refresh, access, idToken, short]

    static func requestBodies(_ client: OAuthClient) -> [String] {
        [client.codeExchangeRequest(code: code, codeVerifier: verifier, clientSecret: secret),
         client.refreshRequest(refreshToken: refresh, clientSecret: secret)]
            .map { String(decoding: $0.body ?? [], as: UTF8.self) }
    }

    static func hostileResponses(_ client: OAuthClient) -> [SCMHTTPResponse] {
        var responses: [SCMHTTPResponse] = []
        for echoed in requestBodies(client) {
            for status in [200, 400, 401, 500] {
                // The request echoed back as it was sent, as JSON-labelled garbage and as a form.
                responses.append(response(status, echoed))
                responses.append(response(status, echoed, headers: [("Content-Type", "application/x-www-form-urlencoded")]))
                responses.append(response(status, "error=invalid_grant&error_description=bad%20\(code)%20for%20\(secret)&" + echoed,
                                          headers: [("Content-Type", "application/x-www-form-urlencoded")]))
                // An error carrying tokens in other fields, quoted in its description too.
                for error in ["invalid_client", "invalid_grant", "access_denied", "weird", "Error"] {
                    responses.append(response(status, """
                        {"error":"\(error)","error_description":"refused \(code), \(secret), \(verifier), \(access) \(short). \(idToken).",
                         "access_token":"\(access)","refresh_token":"\(refresh)","id_token":"\(idToken)","x":"\(short)","echo":"\(echoed)"}
                        """))
                    responses.append(response(status, """
                        {"Error":"\(error)","ErrorDescription":"\(refresh)\\n\(access)","AccessToken":"\(access)","x":["\(short)"]}
                        """))
                }
            }
        }
        // Tokens that cannot be used are not quoted either.
        responses.append(response(200, #"{"access_token":"\#(access)\n","refresh_token":"\#(refresh)"}"#))
        responses.append(response(200, #"{"access_token":"\#(access)","refresh_token":"\#(refresh) x"}"#))
        responses.append(response(200, #"{"refresh_token":"\#(refresh)"}"#))
        return responses
    }

    static func assertClean(_ failure: OAuthFailure, _ context: String) {
        for value in planted {
            #expect(!failure.message.contains(value), "\(context): message quotes a planted value")
            #expect(!failure.description.contains(value), "\(context): description quotes a planted value")
            #expect(failure.scmError?.contains(value) != true, "\(context): scmError quotes a planted value")
        }
        #expect(!failure.message.contains("PLANT"), "\(context): \(failure.message)")
    }

    @Test("token responses, however hostile, never put a planted value in a failure", arguments: OAuthFixtures.all)
    func tokenResponses(_ client: OAuthClient) {
        var failures = 0
        for (index, hostile) in Self.hostileResponses(client).enumerated() {
            do throws(OAuthFailure) {
                _ = try client.parseTokenResponse(hostile)
            } catch {
                failures += 1
                Self.assertClean(error, "response \(index) status \(hostile.status)")
            }
        }
        #expect(failures > 0)
    }

    @Test("whoAmI answers never put a planted value in a failure", arguments: SCMProvider.allCases)
    func whoAmIResponses(_ provider: SCMProvider) {
        let bodies = [
            #"{"error":"invalid_token","error_description":"token \#(Self.access) revoked; \#(Self.short)","access_token":"\#(Self.access)","x":"\#(Self.short)"}"#,
            #"{"message":"TF400813: token \#(Self.access) refused"}"#,
            #"{"message":"Bad credentials \#(Self.access)"}"#,
            "<html>\(Self.access)</html>",
            #"{"login":"\#(Self.access)\n","id":"\#(Self.refresh)"}"#,
        ]
        // None of these is a usable identity (errors, HTML, a login that is not a login), so every
        // one must fail, and every failure must be clean.
        for body in bodies {
            for status in [200, 203, 400, 401, 403, 404, 429, 500] {
                do throws(OAuthFailure) {
                    let identity = try SCMIdentityAPI.parseWhoAmI(provider: provider, response(status, body))
                    Issue.record("\(provider) \(status) parsed \(body.prefix(20))… as \(identity.username.count)-character username")
                } catch {
                    Self.assertClean(error, "\(provider) \(status)")
                }
            }
        }
    }

    @Test("callback descriptions have token-like words redacted; GUIDs and codes stay")
    func callbackDescription() {
        let failure = OAuthFailure.fromAuthorizationCallback(
            error: "access_denied",
            description: "AADSTS65004: declined \(Self.access). Trace ID: 72f988bf-86f1-41af-91ab-2d7cd011db47. Token \(Self.idToken).")
        Self.assertClean(failure, "callback")
        #expect(failure.message.contains("AADSTS65004: declined [redacted]. Trace ID: 72f988bf-86f1-41af-91ab-2d7cd011db47. Token [redacted]."))
    }
}
