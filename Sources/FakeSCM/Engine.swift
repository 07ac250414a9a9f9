import Foundation
import Hummingbird
import Logging
import NIOCore

/// Serves requests against the shared state. Handlers are synchronous and run under the
/// lock, so every request sees and leaves a consistent state.
final class Engine: Sendable {
    let state = Locked(State())
    let logger: Logger
    /// Where the bare git repositories live (created on first use, removed at stop).
    let gitRoot: URL

    init(logger: Logger) {
        self.logger = logger
        self.gitRoot = FileManager.default.temporaryDirectory.appendingPathComponent("fake-scm-git-" + Random.hex(bytes: 8))
    }

    func respond(to request: Request) async -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        var headers: [String: [String]] = [:]
        for field in request.headers {
            headers[field.name.canonicalName, default: []].append(field.value)
        }
        // HTTP/1.1's Host header arrives as the request's authority.
        if headers["host"] == nil, let authority = request.head.authority {
            headers["host"] = [authority]
        }
        if path == "/git" || path.hasPrefix("/git/") {
            return await serveGit(request, headers: headers)
        }
        let answer: FakeResponse
        do {
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let fake = FakeRequest(method: method, path: path, query: request.uri.query, headers: headers, body: Array(buffer: buffer))
            answer = Self.isGitHubAppTokenPath(fake.segments) ? await githubAppAccessToken(fake) : handle(fake)
        } catch {
            answer = .text(413, "Payload Too Large")
        }
        // Paths carry no credentials; queries (codes, state) and bodies are never logged.
        logger.info("\(method) \(path) -> \(answer.status)")

        var fields = HTTPFields()
        for (name, value) in answer.headers {
            // HTTPFields.Element is HTTPField; spelled so to avoid importing HTTPTypes, which
            // is not a declared dependency of this target.
            if let name = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: name, value: value)) }
        }
        let body = method == "HEAD" ? ByteBuffer() : ByteBuffer(string: answer.body)
        if method == "HEAD" {
            fields[.contentLength] = String(answer.body.utf8.count)
        }
        return Response(status: HTTPResponse.Status(code: answer.status), headers: fields, body: .init(byteBuffer: body))
    }

    func handle(_ request: FakeRequest) -> FakeResponse {
        state.withLock { $0.route(request) }
    }
}

extension State {
    mutating func route(_ request: FakeRequest) -> FakeResponse {
        let s = request.segments
        let method = request.method
        func only(_ allowed: String, _ body: () -> FakeResponse) -> FakeResponse {
            method == allowed ? body() : .methodNotAllowed(allowed)
        }
        if let failure = injectedAPIFailure(s) { return failure }
        switch s.count {
        case 0:
            return .text(200, "fake-scm: entra, vssps, ado, github, gitlab, bitbucket\n")
        case _ where s.first == "entra" && s.count == 5 && s[2] == "oauth2" && s[3] == "v2.0":
            switch s[4] {
            case "authorize": return only("GET") { authorize(.entra, tenant: s[1], request) }
            case "token": return only("POST") { token(.entra, tenant: s[1], request) }
            default: return .notFound
            }
        case _ where s == ["vssps", "oauth2", "authorize"]:
            return only("GET") { authorize(.legacy, tenant: nil, request) }
        case _ where s == ["vssps", "oauth2", "token"]:
            return only("POST") { token(.legacy, tenant: nil, request) }
        case _ where s == ["github", "login", "oauth", "authorize"]:
            return only("GET") { authorize(.github, tenant: nil, request) }
        case _ where s == ["github", "login", "oauth", "access_token"]:
            return only("POST") { token(.github, tenant: nil, request) }
        case _ where s == ["github", "api", "user"]:
            return only("GET") { githubUser(request) }
        case _ where s == ["gitlab", "oauth", "authorize"]:
            return only("GET") { authorize(.gitlab, tenant: nil, request) }
        case _ where s == ["gitlab", "oauth", "token"]:
            return only("POST") { token(.gitlab, tenant: nil, request) }
        case _ where s == ["gitlab", "oauth", "revoke"]:
            return only("POST") { gitlabRevoke(request) }
        case _ where s == ["gitlab", "oauth", "token", "info"]:
            return only("GET") { gitlabTokenInfo(request) }
        case _ where s == ["gitlab", "api", "v4", "user"]:
            return only("GET") { gitlabUser(request) }
        case _ where s == ["gitlab", "api", "v4", "personal_access_tokens", "self"]:
            return only("GET") { gitlabPATSelf(request) }
        case _ where s == ["bitbucket", "site", "oauth2", "authorize"]:
            return only("GET") { authorize(.bitbucket, tenant: nil, request) }
        case _ where s == ["bitbucket", "site", "oauth2", "access_token"]:
            return only("POST") { token(.bitbucket, tenant: nil, request) }
        case _ where s == ["bitbucket", "api", "2.0", "user"]:
            return only("GET") { bitbucketUser(request) }
        case 5 where s.starts(with: ["bitbucket", "api", "2.0", "repositories"]):
            return only("GET") { bitbucketRepositories(workspace: s[4], request) }
        case 2 where s[0] == "ado":
            return method == "GET" || method == "HEAD" ? adoOrganizationRoot(org: s[1]) : .methodNotAllowed("GET, HEAD")
        case 4 where s[0] == "ado" && s[2] == "_apis" && s[3] == "connectionData":
            return only("GET") { adoConnectionData(org: s[1], request) }
        case 5 where s[0] == "ado" && s[2] == "_apis" && s[3] == "git" && s[4] == "repositories":
            return only("GET") { adoRepositories(org: s[1], request) }
        default:
            return .notFound
        }
    }
}
