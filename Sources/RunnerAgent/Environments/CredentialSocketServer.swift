import BrokerProtocol
import Foundation
import Hummingbird
import Logging
import NIOCore
import SCMProviders
import ServiceLifecycle

/// The runner's local endpoint for environments: a Unix socket serving
/// `POST /v1/git-credential` to `scm-runner credential-helper`. The environment token in the
/// `Authorization` header says which environment asks; git's `protocol`, `host` and `path`
/// must name that environment's clone URL. Every answer is fresh (the broker checks the grant
/// each time); passwords are never logged.
public enum CredentialSocketServer {
    /// Anyone who can reach the socket may ask, but only an environment token gets an answer,
    /// and only for its own repository: environments (containers, other users) must be able
    /// to connect.
    public static let defaultMode: mode_t = 0o666

    public static func make(path: String, mode: mode_t = defaultMode, tokens: EnvironmentTokens, provider: CloneCredentialProvider,
                            logger: Logger) throws -> some Service {
        try removeStaleSocket(at: path)
        let router = Router()
        router.post("v1/git-credential") { request, context -> Response in
            await answer(request, tokens: tokens, provider: provider, logger: logger)
        }
        return Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: path), serverName: nil),
            onServerRunning: { _ in
                chmod(path, mode)
                logger.info("credential socket listening", metadata: ["socket": "\(path)"])
            },
            logger: logger)
    }

    /// A socket left by a previous run is replaced; any other file there is not touched.
    static func removeStaleSocket(at path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw RunnerError("\(path) exists and is not a socket; choose another --socket")
        }
        // Someone else's socket there would receive environments' tokens: never reuse it.
        guard status.st_uid == getuid() else {
            throw RunnerError("\(path) belongs to another user; choose another --socket (e.g. under /run/scm-runner)")
        }
        guard unlink(path) == 0 else { throw RunnerError("cannot remove the old socket \(path)") }
    }

    struct Question: Decodable {
        var `protocol`: String
        var host: String
        var path: String?
    }

    struct Answer: Encodable {
        var username: String
        var password: String
        var expires_at: Int?
    }

    static func answer(_ request: Request, tokens: EnvironmentTokens, provider: CloneCredentialProvider, logger: Logger) async -> Response {
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
              let environment = await tokens.verify(String(authorization.dropFirst("Bearer ".count)))
        else { return refusal(.unauthorized, .invalidEnvironmentToken, "the environment token is missing, invalid or expired") }
        guard let body = try? await request.body.collect(upTo: 8192),
              let question = try? JSONDecoder().decode(Question.self, from: Data(body.readableBytesView))
        else { return refusal(.badRequest, CloneCredentialError.Code(rawValue: "invalid_request"), "the body must be {\"protocol\",\"host\",\"path\"}") }
        let asked = GitCredentialRequest(scheme: question.protocol, host: question.host, path: question.path)
        let metadata: Logger.Metadata = ["environment.id": "\(environment.id)"]
        guard asked.path != nil else {
            logger.notice("credential refused: git sent no path", metadata: metadata)
            await provider.reportRefusal(environmentID: environment.id, asked: asked)
            return refusal(.forbidden, .repositoryNotGranted,
                           "git sent no repository path; set `git config --global credential.useHttpPath true`")
        }
        guard asked.names(cloneURL: environment.cloneURL) else {
            logger.notice("credential refused: another repository", metadata: metadata)
            await provider.reportRefusal(environmentID: environment.id, asked: asked)
            return refusal(.forbidden, .repositoryNotGranted, "this environment may only use \(environment.cloneURL)")
        }
        do {
            let (grant, credential) = try await provider.credential(environmentID: environment.id)
            guard grant.cloneURL == environment.cloneURL else {
                return refusal(.forbidden, .repositoryNotGranted, "the environment's grant names another repository than its token")
            }
            guard CredentialHelper.safeValue(credential.username), CredentialHelper.safeValue(credential.password) else {
                return refusal(.badGateway, CloneCredentialError.Code(rawValue: "unusable_credential"),
                               "the credential contains characters git's credential protocol cannot carry")
            }
            logger.info("credential served", metadata: metadata)
            let body = try JSONEncoder().encode(Answer(username: credential.username, password: credential.password,
                                                       expires_at: credential.expiresAt.map { Int($0.timeIntervalSince1970) }))
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        } catch let error as CloneCredentialError {
            logger.notice("credential refused", metadata: metadata.merging(["error": "\(error.code.rawValue)"]) { $1 })
            return refusal(status(for: error.code), error.code, error.message)
        } catch {
            logger.error("credential failed", metadata: metadata.merging(["error": "\(type(of: error))"]) { $1 })
            return refusal(.internalServerError, CloneCredentialError.Code(rawValue: RunnerFailureCode.runnerError.rawValue),
                           "the runner failed; see its log")
        }
    }

    static func status(for code: CloneCredentialError.Code) -> HTTPResponse.Status {
        let broker = { (code: BrokerErrorCode) in CloneCredentialError.Code.broker(code.rawValue) }
        if [broker(.grantExpired), broker(.grantRevoked), broker(.environmentNotFound), .repositoryNotGranted, .endpointMismatch].contains(code) {
            return .forbidden
        }
        if [.needsReconnect, broker(.scmAuthorizationRequired), broker(.noGithubApp)].contains(code) { return .conflict }
        if [.refreshInProgress, broker(.organizationCredentialsExhausted)].contains(code) { return .serviceUnavailable }
        return .badGateway
    }

    static func refusal(_ status: HTTPResponse.Status, _ code: CloneCredentialError.Code, _ message: String) -> Response {
        let body = (try? WireFormat.encode(ErrorBody(code: code.rawValue, message: message))) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
