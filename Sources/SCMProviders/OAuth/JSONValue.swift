import Foundation

/// A JSON document read without a schema (one type for the whole package: SCM responses here,
/// request bodies in the broker). SCM responses differ in which fields they send and
/// how they spell them (`expires_in` as 3599 or "3599", `Error` or `error`, GitHub ids as
/// numbers), so parsing looks fields up leniently instead of decoding fixed structs.
///
/// Integers are kept exactly (GitHub and GitLab ids exceed what a Double holds precisely);
/// `JSONDecoder` is used rather than `JSONSerialization` because it tells booleans and numbers
/// apart the same way on every platform.
public enum JSONValue: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Bodies larger than this are not parsed: no OAuth or identity answer comes near it, and
    /// the runner should not spend memory on whatever a misbehaving server sends.
    static let maximumBodySize = 1 << 20

    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        guard !bytes.isEmpty, bytes.count <= maximumBodySize else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public var object: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// A member, by exact name first and then ignoring case and underscores, so that
    /// `error_description`, `ErrorDescription` and `errorDescription` are one field.
    subscript(lenient name: String) -> JSONValue? {
        guard let object else { return nil }
        if let exact = object[name] { return exact }
        let wanted = Self.fold(name)
        // Sorted so that the choice between two spellings present at once is deterministic.
        return object.keys.sorted().first { Self.fold($0) == wanted }.flatMap { object[$0] }
    }

    subscript(key: String) -> JSONValue? {
        object?[key]
    }

    /// A non-empty string.
    var string: String? {
        if case .string(let value) = self, !value.isEmpty { value } else { nil }
    }

    /// A whole number given as a JSON number or as a numeric string ("3599").
    var integer: Int64? {
        switch self {
        case .integer(let value):
            value
        case .double(let value):
            value.rounded(.towardZero) == value && abs(value) < 9.2e18 ? Int64(value) : nil
        case .string(let text):
            Int64(text.trimmingCharacters(in: .whitespaces))
        default:
            nil
        }
    }

    /// An identifier that one SCM sends as a number and another as a string.
    var identifier: String? {
        if let string { return string }
        if case .string = self { return nil }
        return integer.map(String.init)
    }

    /// Every string anywhere in the document, with the key it was found under.
    func strings(key: String? = nil) -> [(key: String?, value: String)] {
        switch self {
        case .string(let value): [(key, value)]
        case .array(let values): values.flatMap { $0.strings(key: key) }
        case .object(let members): members.flatMap { $0.value.strings(key: $0.key) }
        default: []
        }
    }

    private static func fold(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: "_", with: "")
    }

    /// What kind of value this is, for error messages that must not quote the value.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
