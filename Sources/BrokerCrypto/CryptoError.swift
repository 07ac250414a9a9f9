/// Every failure of the crypto module. Messages are fixed strings chosen here: they never
/// carry key material, plaintext or OpenSSL's own (possibly data-bearing) error text.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String {
            case malformed
            case inputTooLarge
            case unsupportedAlgorithm
            case unsupportedEncryption
            case unsupportedHeader
            case keyMismatch
            case decryptionFailed
            case invalidKey
            case keyTooSmall
            case privateKeyNotAllowed
            case insecureKeyFile
            case keyFileExists
            case io
            case openSSL
        }

        fileprivate let base: Base
        private init(_ base: Base) { self.base = base }

        /// Not well-formed: wrong number of segments, bad base64url, bad JSON, wrong lengths.
        public static let malformed = Code(.malformed)
        public static let inputTooLarge = Code(.inputTooLarge)
        /// A JWE `alg` other than RSA-OAEP-256 (including `none`, `RSA1_5`, `dir`).
        public static let unsupportedAlgorithm = Code(.unsupportedAlgorithm)
        /// A JWE `enc` other than A256GCM.
        public static let unsupportedEncryption = Code(.unsupportedEncryption)
        /// A header parameter we do not implement and so must not ignore (`zip`, `crit`).
        public static let unsupportedHeader = Code(.unsupportedHeader)
        /// The JWE names a key (`kid`) that is not the one opening it.
        public static let keyMismatch = Code(.keyMismatch)
        /// Key unwrap or authenticated decryption failed: tampered, or sealed to another key.
        public static let decryptionFailed = Code(.decryptionFailed)
        public static let invalidKey = Code(.invalidKey)
        public static let keyTooSmall = Code(.keyTooSmall)
        /// A private JWK (one with `d`) where only a public key belongs.
        public static let privateKeyNotAllowed = Code(.privateKeyNotAllowed)
        /// A key file readable by group or others.
        public static let insecureKeyFile = Code(.insecureKeyFile)
        public static let keyFileExists = Code(.keyFileExists)
        public static let io = Code(.io)
        public static let openSSL = Code(.openSSL)

        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    static func malformed(_ message: String) -> CryptoError { .init(.malformed, message) }
}
