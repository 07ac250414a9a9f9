import Foundation
import Testing
@testable import SCMProviders

/// Shared fixtures and helpers for the OAuth client suites.
enum OAuthFixtures {
    static let redirectURI = "https://broker.example.com/oauth/callback?integration=a b"

    static let entra = OAuthClient(
        provider: .azureDevOps, authority: "https://login.microsoftonline.com",
        clientID: "11111111-2222-3333-4444-555555555555", redirectURI: redirectURI)
    static let entraTenant = OAuthClient(
        provider: .azureDevOps, flavor: .entra, tenant: "contoso.onmicrosoft.com", authority: "https://login.microsoftonline.com/",
        clientID: "11111111-2222-3333-4444-555555555555", redirectURI: redirectURI)
    static let legacy = OAuthClient(
        provider: .azureDevOps, flavor: .legacy, authority: "https://app.vssps.visualstudio.com",
        clientID: "AAAABBBB-CCCC-DDDD-EEEE-FFFF00001111", redirectURI: redirectURI)
    static let github = OAuthClient(provider: .github, authority: "https://github.com", clientID: "Iv1.0123456789abcdef", redirectURI: redirectURI)
    static let ghes = OAuthClient(provider: .github, authority: "https://ghe.example.com:8443", clientID: "Iv1.ghes", redirectURI: redirectURI)
    static let gitlab = OAuthClient(provider: .gitlab, authority: "https://gitlab.example.com/gitlab", clientID: "gl-app-id", redirectURI: redirectURI)
    static let bitbucket = OAuthClient(provider: .bitbucket, authority: "https://bitbucket.org", clientID: "bbKey123", redirectURI: redirectURI)

    static let all: [OAuthClient] = [entra, entraTenant, legacy, github, ghes, gitlab, bitbucket]

    static let entraScope = "499b84ac-1321-427f-aa17-267ca6975798/vso.code_write offline_access"
}

extension OAuthClient: CustomTestStringConvertible {
    public var testDescription: String {
        "\(provider.rawValue)\(flavor.map { "/\($0.rawValue)" } ?? "") \(authority)"
    }
}

/// Decodes `name=value&…` with Foundation's parser, independent of the code under test, into
/// "name=value" lines that read well in a failed expectation.
func formFields(_ encoded: String) -> [String] {
    var components = URLComponents()
    components.percentEncodedQuery = encoded
    return (components.queryItems ?? []).map { "\($0.name)=\($0.value ?? "")" }
}

func formFields(_ request: SCMHTTPRequest) -> [String] {
    formFields(String(decoding: request.body ?? [], as: UTF8.self))
}

/// The URL before "?" and its decoded query.
func splitURL(_ url: String) -> (base: String, query: [String]) {
    guard let mark = url.firstIndex(of: "?") else { return (url, []) }
    return (String(url[..<mark]), formFields(String(url[url.index(after: mark)...])))
}

/// Only unreserved characters, percent escapes and the separators may appear in what we encode.
func isStrictlyEncoded(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { scalar in
        scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-._~%=&".unicodeScalars.contains(scalar))
    }
}

func response(_ status: Int, _ body: String, headers: [(String, String)] = [("Content-Type", "application/json")]) -> SCMHTTPResponse {
    SCMHTTPResponse(status: status, headers: headers.map { SCMHTTPHeader(name: $0.0, value: $0.1) }, body: Array(body.utf8))
}

/// The failure a throwing call produced, or nil if it returned.
func failure<T>(_ body: () throws(OAuthFailure) -> T) -> OAuthFailure? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
