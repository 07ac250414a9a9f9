import Foundation
import Hummingbird
import NIOCore

// Real git repositories over smart HTTP, served by `git http-backend` (CGI), behind each
// provider's HTTP Basic conventions. URLs live under `/git/{ado|github|gitlab|bitbucket}/…`.

extension FakeSCM {
    /// Creates a bare repository with one commit (a README.md containing `content`) on `main`.
    /// Azure DevOps: organization/project/repo; GitHub/Bitbucket: owner/repo; GitLab: group
    /// path + repo. Paths are case-insensitive; creating an existing path replaces it.
    public func createRepository(_ provider: Provider, path: String, content: String = "hello") throws {
        let segments = try GitPath.validate(provider, path)
        let directory = engine.gitRoot.appendingPathComponent(GitPath.directory(provider, segments))
        let fileManager = FileManager.default
        try? fileManager.removeItem(at: directory)
        try fileManager.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        try GitCommand.run(["init", "--bare", "-q", "-b", "main", directory.path])
        try GitCommand.run(["-C", directory.path, "config", "http.receivepack", "true"])
        let worktree = fileManager.temporaryDirectory.appendingPathComponent("fake-scm-wt-" + Random.hex(bytes: 8))
        defer { try? fileManager.removeItem(at: worktree) }
        try GitCommand.run(["init", "-q", "-b", "main", worktree.path])
        try Data(content.utf8).write(to: worktree.appendingPathComponent("README.md"))
        try GitCommand.run(["-C", worktree.path, "add", "README.md"])
        try GitCommand.run(["-C", worktree.path, "-c", "user.name=Fake SCM", "-c", "user.email=fake-scm@example.invalid",
                            "commit", "-q", "-m", "Initial commit"])
        try GitCommand.run(["-C", worktree.path, "push", "-q", directory.path, "main:main"])
        let key = GitRepoKey(provider, segments)
        engine.state.withLock { $0.gitRepositories.insert(key) }
    }

    /// The clone URL, e.g. `B/git/ado/{org}/{project}/_git/{repo}`, `B/git/github/{owner}/{repo}.git`,
    /// `B/git/gitlab/{group}/{repo}.git`, `B/git/bitbucket/{workspace}/{repo}.git`.
    public func cloneURL(_ provider: Provider, path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { Form.percentEncode(String($0)) }
        switch provider {
        case .azureDevOps:
            var parts = segments
            if parts.count >= 3 { parts.insert("_git", at: parts.count - 1) }
            return baseURL + "/git/ado/" + parts.joined(separator: "/")
        case .github, .gitlab, .bitbucket:
            return baseURL + "/git/" + GitPath.prefix(provider) + "/" + segments.joined(separator: "/") + ".git"
        }
    }

    /// Lets a token use a repository: read, or read and write.
    public enum GitAccess: Sendable { case read, write }

    /// Lets `token` use the repository at `path` of `provider`. A token with grants of a
    /// provider reaches only the repositories granted (this also restricts OAuth tokens and
    /// PATs the fake knows); a token unknown to the fake becomes valid for git with these grants.
    public func grantGit(_ provider: Provider, token: String, path: String, access: GitAccess) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0) }
        engine.state.withLock { $0.gitGrants[token, default: [:]][GitRepoKey(provider, segments)] = access }
    }

    /// Git HTTP requests served (any answer, refusals included).
    public var gitRequests: Int {
        engine.state.withLock { $0.gitRequests }
    }
}

struct GitRepoKey: Hashable, Sendable {
    var provider: FakeSCM.Provider
    /// Lower-cased path, `/`-joined.
    var path: String

    init(_ provider: FakeSCM.Provider, _ segments: [String]) {
        self.provider = provider
        self.path = segments.joined(separator: "/").lowercased()
    }
}

struct GitCommandError: Error, CustomStringConvertible {
    var description: String
}

enum GitPath {
    static func prefix(_ provider: FakeSCM.Provider) -> String {
        switch provider {
        case .azureDevOps: "ado"
        case .github: "github"
        case .gitlab: "gitlab"
        case .bitbucket: "bitbucket"
        }
    }

    static func validate(_ provider: FakeSCM.Provider, _ path: String) throws -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { String($0) }
        let countOK = switch provider {
        case .azureDevOps: segments.count == 3
        case .github, .bitbucket: segments.count == 2
        case .gitlab: segments.count >= 2
        }
        guard countOK, segments.allSatisfy({ $0 != "." && $0 != ".." && !$0.hasSuffix(".git") && $0 != "_git" }) else {
            throw GitCommandError(description: "invalid \(provider) repository path '\(path)'")
        }
        return segments
    }

    /// The bare repository's directory relative to the repositories root.
    static func directory(_ provider: FakeSCM.Provider, _ segments: [String]) -> String {
        prefix(provider) + "/" + segments.joined(separator: "/").lowercased() + ".git"
    }

    /// Splits `/git/…` segments (after `git`) into provider, repository path and the
    /// smart-HTTP endpoint (`info/refs`, `git-upload-pack`, `git-receive-pack`).
    static func parse(_ s: [String]) -> (FakeSCM.Provider, [String], String)? {
        guard let first = s.first else { return nil }
        let provider: FakeSCM.Provider
        switch first {
        case "ado": provider = .azureDevOps
        case "github": provider = .github
        case "gitlab": provider = .gitlab
        case "bitbucket": provider = .bitbucket
        default: return nil
        }
        var rest = Array(s.dropFirst())
        let endpoint: String
        if rest.last == "git-upload-pack" || rest.last == "git-receive-pack" {
            endpoint = rest.removeLast()
        } else if rest.suffix(2) == ["info", "refs"] {
            rest.removeLast(2)
            endpoint = "info/refs"
        } else {
            return nil
        }
        if provider == .azureDevOps {
            guard rest.count == 4, rest[2] == "_git" else { return nil }
            return (provider, [rest[0], rest[1], rest[3]], endpoint)
        }
        guard rest.count >= 2 else { return nil }
        if rest[rest.count - 1].hasSuffix(".git") { rest[rest.count - 1].removeLast(4) }
        guard !rest[rest.count - 1].isEmpty else { return nil }
        if provider != .gitlab, rest.count != 2 { return nil }
        return (provider, rest, endpoint)
    }
}

enum GitCommand {
    /// Environment for every git process: no system or user configuration.
    static func environment(home: String = NSTemporaryDirectory()) -> [String: String] {
        var environment: [String: String] = [
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": home, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C",
        ]
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return environment
    }

    static func run(_ arguments: [String]) throws {
        let (status, output) = try execute(["git"] + arguments, environment: environment(), input: [])
        guard status == 0 else {
            throw GitCommandError(description: "git \(arguments.first ?? "") failed: " + String(decoding: output, as: UTF8.self))
        }
    }

    /// Runs a process with `input` on stdin and returns its exit status and stdout+stderr
    /// (or only stdout with `discardErrors`). Temporary files, not pipes, carry the data:
    /// Foundation's `Process` lets concurrently started children inherit pipe ends, and a
    /// reader waiting for end-of-file would then wait for an unrelated process.
    static func execute(_ arguments: [String], environment: [String: String], input: [UInt8],
                        discardErrors: Bool = false) throws -> (Int32, [UInt8]) {
        let fileManager = FileManager.default
        let base = fileManager.temporaryDirectory.appendingPathComponent("fake-scm-io-" + Random.hex(bytes: 8))
        let inputURL = base.appendingPathExtension("in"), outputURL = base.appendingPathExtension("out")
        defer {
            try? fileManager.removeItem(at: inputURL)
            try? fileManager.removeItem(at: outputURL)
        }
        try Data(input).write(to: inputURL)
        guard fileManager.createFile(atPath: outputURL.path, contents: nil) else {
            throw GitCommandError(description: "cannot create a temporary file")
        }
        let inputHandle = try FileHandle(forReadingFrom: inputURL)
        let outputHandle = try FileHandle(forWritingTo: outputURL)
        defer {
            try? inputHandle.close()
            try? outputHandle.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = environment
        process.standardInput = inputHandle
        process.standardOutput = outputHandle
        process.standardError = discardErrors ? FileHandle.nullDevice : outputHandle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, [UInt8](try Data(contentsOf: outputURL)))
    }

    /// Runs `git http-backend` as a CGI; returns status, headers and body.
    static func cgi(environment extra: [String: String], body: [UInt8], home: String) async -> (Int, [(String, String)], [UInt8]) {
        await withCheckedContinuation { continuation in
            // A thread of its own: blocking in libdispatch's small pool (one worker per core on
            // Linux) stalls every other user of it.
            Thread {
                let answer: (Int, [(String, String)], [UInt8])
                do {
                    let (_, output) = try execute(["git", "http-backend"], environment: environment(home: home).merging(extra) { $1 },
                                                  input: body, discardErrors: true)
                    answer = parseCGI(output)
                } catch {
                    answer = (500, [("Content-Type", "text/plain")], Array("cannot run git http-backend\n".utf8))
                }
                continuation.resume(returning: answer)
            }.start()
        }
    }

    static func parseCGI(_ data: [UInt8]) -> (Int, [(String, String)], [UInt8]) {
        var index = 0
        var headers: [(String, String)] = []
        var status = 200
        while index < data.count {
            guard let newline = data[index...].firstIndex(of: 0x0A) else { break }
            var line = data[index..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            index = newline + 1
            if line.isEmpty { break }
            let text = String(decoding: line, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            let name = String(text[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            if name.lowercased() == "status" {
                status = Int(value.prefix(3)) ?? 500
            } else {
                headers.append((name, value))
            }
        }
        return (status, headers, Array(data[min(index, data.count)...]))
    }
}

/// The outcome of the auth check of one git request.
enum GitDecision {
    case refuse(FakeResponse)
    /// Serve with `git http-backend`: the repository directory and the REMOTE_USER.
    case serve(directory: String, user: String)
}

/// What a presented git credential is.
private enum GitIdentity {
    case oauth(AccessRecord)
    case pat(PATRecord)
    case granted
}

extension State {
    mutating func gitDecision(_ request: FakeRequest) -> GitDecision {
        gitRequests += 1
        let segments = Array(request.segments.dropFirst())
        guard let (provider, path, endpoint) = GitPath.parse(segments) else { return .refuse(.notFound) }
        let service: String? = endpoint == "info/refs" ? request.queryFields?["service"] : endpoint
        let write = service == "git-receive-pack"
        guard write || service == "git-upload-pack" else {
            // Dumb HTTP is not served by any of these providers.
            return .refuse(.text(403, "Smart HTTP only\n"))
        }
        let key = GitRepoKey(provider, path)
        let challenge = gitChallenge(provider)

        // Credentials: Basic (every provider) or Bearer (Azure DevOps).
        let username: String
        let token: String
        if let (user, password) = request.basicCredentials {
            // GitHub also takes the token as the user name (password empty or x-oauth-basic).
            if provider == .github, password.isEmpty || password == "x-oauth-basic", !user.isEmpty {
                (username, token) = ("x-access-token", user)
            } else {
                (username, token) = (user, password)
            }
        } else if provider == .azureDevOps, let (scheme, credentials) = request.authorization, scheme == "bearer" {
            (username, token) = ("bearer", credentials)
        } else {
            return .refuse(challenge)
        }
        guard !token.isEmpty else { return .refuse(challenge) }

        // Who is it, and is the user name right for that kind of token?
        let grants = (gitGrants[token] ?? [:]).filter { $0.key.provider == provider }
        let identity: GitIdentity
        if let record = accessTokens[token], record.kind.provider == provider {
            guard isUsable(record.revoked, record.expiresAt) else { return .refuse(challenge) }
            guard Self.gitUsernameOK(provider, username, oauth: true) else { return .refuse(challenge) }
            if provider == .azureDevOps, organizations[path[0].lowercased()]?.oauthBlocked == true { return .refuse(challenge) }
            identity = .oauth(record)
        } else if let record = pats[token], record.pat.provider == provider {
            guard isUsable(record.pat.revoked, record.pat.expiresAt) else { return .refuse(challenge) }
            switch provider {
            case .bitbucket: guard username == record.basicUsername else { return .refuse(challenge) }
            default: guard !username.isEmpty else { return .refuse(challenge) }
            }
            if provider == .azureDevOps {
                guard organizations[path[0].lowercased()] != nil else { return .refuse(challenge) }
                if let organization = record.pat.organization, organization.lowercased() != path[0].lowercased() {
                    return .refuse(challenge)
                }
            }
            identity = .pat(record)
        } else if !grants.isEmpty {
            guard Self.gitUsernameOK(provider, username, oauth: true), gitGrantExpiry[token].map({ now < $0 }) ?? true else {
                return .refuse(challenge)
            }
            // Installation tokens go with GitHub's documented user name.
            if provider == .github, gitGrantExpiry[token] != nil, username != "x-access-token" { return .refuse(challenge) }
            identity = .granted
        } else {
            return .refuse(challenge)
        }

        // What may it do here?
        let access: FakeSCM.GitAccess?
        if !grants.isEmpty {
            access = grants[key]
        } else {
            switch identity {
            case .oauth: access = .write
            case .pat(let record): access = record.pat.canReadCode ? .write : nil
            case .granted: access = nil
            }
        }
        guard gitRepositories.contains(key), let access else { return .refuse(gitNotFound(provider)) }
        if write, access != .write {
            return .refuse(.text(403, gitDenied(provider, path, user: identityLogin(identity))))
        }
        let remoteUser = switch identity {
        case .oauth(let record): record.user.login
        case .pat(let record): record.pat.user.login
        case .granted: username.isEmpty ? "git" : username
        }
        return .serve(directory: GitPath.directory(provider, path.map { $0.lowercased() }), user: remoteUser)
    }

    private func identityLogin(_ identity: GitIdentity) -> String {
        switch identity {
        case .oauth(let record): record.user.login
        case .pat(let record): record.pat.user.login
        case .granted: "token"
        }
    }

    /// The user name rules for OAuth (and app / granted) tokens.
    static func gitUsernameOK(_ provider: FakeSCM.Provider, _ username: String, oauth: Bool) -> Bool {
        switch provider {
        case .azureDevOps: !username.isEmpty
        case .github: !username.isEmpty
        case .gitlab: username == "oauth2"
        case .bitbucket: username == "x-token-auth"
        }
    }

    func gitChallenge(_ provider: FakeSCM.Provider) -> FakeResponse {
        let realm = switch provider {
        case .azureDevOps: "https://dev.azure.com/"
        case .github: "GitHub"
        case .gitlab: "GitLab"
        case .bitbucket: "Bitbucket.org HTTP"
        }
        return .text(401, "HTTP Basic: Access denied\n", headers: [("WWW-Authenticate", "Basic realm=\"\(realm)\"")])
    }

    func gitNotFound(_ provider: FakeSCM.Provider) -> FakeResponse {
        switch provider {
        case .azureDevOps:
            .text(404, "TF401019: The Git repository with name or identifier does not exist or you do not have permissions for the operation you are attempting.\n")
        case .github, .bitbucket: .text(404, "Repository not found.\n")
        case .gitlab: .text(404, "The project you were looking for could not be found or you don't have permission to view it.\n")
        }
    }

    func gitDenied(_ provider: FakeSCM.Provider, _ path: [String], user: String) -> String {
        switch provider {
        case .github: "Permission to \(path.joined(separator: "/")).git denied to \(user).\n"
        case .azureDevOps: "TF401027: You need the Git 'GenericContribute' permission to perform this action.\n"
        case .gitlab: "You are not allowed to push code to this project.\n"
        case .bitbucket: "You do not have write access to this repository.\n"
        }
    }
}

extension FakeSCM.Kind {
    var provider: FakeSCM.Provider {
        switch self {
        case .entra, .legacy: .azureDevOps
        case .github: .github
        case .gitlab: .gitlab
        case .bitbucket: .bitbucket
        }
    }
}

extension Engine {
    /// Serves `/git/…`: the auth check under the lock, then `git http-backend` off it.
    func serveGit(_ request: Request, headers: [String: [String]]) async -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        let status: Int
        var responseHeaders: [(String, String)]
        var body: [UInt8]
        do {
            let buffer = try await request.body.collect(upTo: 32 << 20)
            let fake = FakeRequest(method: method, path: path, query: request.uri.query, headers: headers, body: Array(buffer: buffer))
            switch state.withLock({ $0.gitDecision(fake) }) {
            case .refuse(let answer):
                (status, responseHeaders, body) = (answer.status, answer.headers, Array(answer.body.utf8))
            case .serve(let directory, let user):
                let parts = path.split(separator: "/", omittingEmptySubsequences: true)
                let endpoint = parts.last == "refs" ? "info/refs" : String(parts.last ?? "")
                var environment = [
                    "GIT_PROJECT_ROOT": gitRoot.path,
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": "/" + directory + "/" + endpoint,
                    "QUERY_STRING": request.uri.query ?? "",
                    "REQUEST_METHOD": method,
                    "REMOTE_USER": user,
                    "REMOTE_ADDR": "127.0.0.1",
                    "CONTENT_LENGTH": String(fake.body.count),
                ]
                if let type = fake.header("content-type") { environment["CONTENT_TYPE"] = type }
                if let encoding = fake.header("content-encoding") { environment["HTTP_CONTENT_ENCODING"] = encoding }
                if let protocolHeader = fake.header("git-protocol") { environment["HTTP_GIT_PROTOCOL"] = protocolHeader }
                (status, responseHeaders, body) = await GitCommand.cgi(environment: environment, body: fake.body, home: gitRoot.path)
            }
        } catch {
            (status, responseHeaders, body) = (413, [("Content-Type", "text/plain")], Array("Payload Too Large\n".utf8))
        }
        // Never the query or the credentials.
        logger.info("\(method) \(path) -> \(status)")
        var fields = HTTPFields()
        for (name, value) in responseHeaders where name.lowercased() != "content-length" {
            if let name = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: name, value: value)) }
        }
        fields[.contentLength] = String(body.count)
        return Response(status: HTTPResponse.Status(code: status), headers: fields,
                        body: .init(byteBuffer: method == "HEAD" ? ByteBuffer() : ByteBuffer(bytes: body)))
    }
}
