import BrokerCrypto
import Foundation

/// A runner's two key pairs, kept as 0600 PEM files in its keys directory:
/// `runner-encryption.pem` (RSA, opens what the broker seals) and `runner-signing.pem`
/// (Ed25519, signs its client assertions).
public struct RunnerKeys: Sendable {
    public static let encryptionFile = "runner-encryption.pem"
    public static let signingFile = "runner-signing.pem"

    public let encryption: RSAPrivateKey
    public let signing: Ed25519PrivateKey

    public init(encryption: RSAPrivateKey, signing: Ed25519PrivateKey) {
        self.encryption = encryption
        self.signing = signing
    }

    /// Generates both keys and writes them. Existing key files are kept unless `force`.
    public static func generate(in directory: String, rsaBits: Int = RSAPrivateKey.defaultBits, force: Bool = false) throws -> RunnerKeys {
        let encryptionPath = path(directory, encryptionFile)
        let signingPath = path(directory, signingFile)
        if !force {
            for existing in [encryptionPath, signingPath] where FileManager.default.fileExists(atPath: existing) {
                throw RunnerError("\(existing) exists; pass --force to replace the runner's keys (the broker must then register it again)")
            }
        }
        try KeyFile.ensurePrivateDirectory(directory)
        let keys = RunnerKeys(encryption: try RSAPrivateKey.generate(bits: rsaBits), signing: try Ed25519PrivateKey.generate())
        try KeyFile.write(try keys.encryption.pem(), to: encryptionPath, overwrite: true)
        try KeyFile.write(try keys.signing.pem(), to: signingPath, overwrite: true)
        return keys
    }

    /// Loads both keys, refusing key files that others can read.
    public static func load(from directory: String) throws -> RunnerKeys {
        let encryption = try RSAPrivateKey(pem: try KeyFile.read(path(directory, encryptionFile)))
        let signing = try Ed25519PrivateKey(pem: try KeyFile.read(path(directory, signingFile)))
        return RunnerKeys(encryption: encryption, signing: signing)
    }

    static func path(_ directory: String, _ file: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }
}
