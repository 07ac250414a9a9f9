import AsyncHTTPClient
import BrokerProtocol
import Foundation
import NIOCore
import NIOHTTP1
import SCMProviders

/// `scm-runner credential-helper get|store|erase`: git's credential helper protocol, answered
/// by the runner's credential socket for the environment whose token is in
/// `SCM_RUNNER_ENVIRONMENT_TOKEN`. Nothing is stored: every `get` asks for a fresh token, and
/// `store`/`erase` do nothing.
public enum CredentialHelper {
    public static let tokenVariable = "SCM_RUNNER_ENVIRONMENT_TOKEN"
    public static let socketVariable = "SCM_RUNNER_SOCKET"
    public static let defaultSocket = "/tmp/scm-runner.sock"

    /// What to print: `stdout` for git, `stderr` for the person reading git's output.
    public struct Output: Sendable, Equatable {
        public var stdout: String
        public var stderr: String?
    }

    public static func run(operation: String, input: String, environment: [String: String], httpClient: HTTPClient) async -> Output {
        guard operation == "get" else { return Output(stdout: "", stderr: nil) }
        guard let request = GitCredentialRequest.parse(input) else {
            return Output(stdout: "", stderr: "scm-runner: git sent no protocol and host")
        }
        guard let path = request.path else {
            return Output(stdout: "", stderr: "scm-runner: git sent no repository path; run `git config --global credential.useHttpPath true`")
        }
        guard let token = environment[tokenVariable], !token.isEmpty else {
            return Output(stdout: "", stderr: "scm-runner: \(tokenVariable) is not set in this environment")
        }
        let socket = environment[socketVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultSocket
        // The HTTP client retries failed connections until its deadline; git should not hang
        // for a minute and a half when the runner is not there.
        guard isListening(socket) else {
            return Output(stdout: "", stderr: "scm-runner: cannot reach the runner at \(socket) (nothing listens there)")
        }
        var outgoing = HTTPClientRequest(url: "http+unix://\(encodeSocketPath(socket))/v1/git-credential")
        outgoing.method = .POST
        outgoing.headers.add(name: "Authorization", value: "Bearer \(token)")
        outgoing.headers.add(name: "Content-Type", value: "application/json")
        let question = ["protocol": request.scheme, "host": request.host, "path": path]
        outgoing.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(question)) ?? Data()))
        do {
            let response = try await httpClient.execute(outgoing, timeout: .seconds(90))
            let body = Data(try await response.body.collect(upTo: 64 * 1024).readableBytesView)
            guard response.status == .ok else {
                let reason = (try? JSONDecoder().decode(ErrorBody.self, from: body)).map { "\($0.error.code): \($0.error.message)" }
                    ?? "HTTP \(response.status.code)"
                return Output(stdout: "", stderr: "scm-runner: no credential for \(request.scheme)://\(request.host)/\(path): \(reason)")
            }
            struct Answer: Decodable { var username: String; var password: String; var expires_at: Int? }
            let answer = try JSONDecoder().decode(Answer.self, from: body)
            guard safeValue(answer.username), safeValue(answer.password) else {
                return Output(stdout: "", stderr: "scm-runner: the runner's answer cannot be passed to git")
            }
            var lines = "username=\(answer.username)\npassword=\(answer.password)\n"
            if let expiresAt = answer.expires_at { lines += "password_expiry_utc=\(expiresAt)\n" }
            return Output(stdout: lines, stderr: nil)
        } catch {
            return Output(stdout: "", stderr: "scm-runner: cannot reach the runner at \(socket) (\(type(of: error)))")
        }
    }

    /// Whether something accepts connections on the Unix socket at `path`.
    static func isListening(_ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        #if canImport(Glibc)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected == 0
    }

    /// Git's protocol is line-based: a value with a newline or NUL would inject attributes.
    public static func safeValue(_ value: String) -> Bool {
        !value.isEmpty && value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    static func encodeSocketPath(_ path: String) -> String {
        BrokerClient.formEncode(path)
    }
}
