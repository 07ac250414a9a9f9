import Foundation

/// Any JSON value, decoded strictly (a number is never a boolean), so request validation can
/// tell a missing field from `null` and name exactly which field is wrong.
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// Reads fields of one JSON object. Errors name the field path and the expected type, never
/// the value that was sent.
struct JSONObjectReader {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String = "") throws(APIError) {
        guard case .object(let fields) = value else {
            throw .invalidRequest(path.isEmpty ? "the body must be a JSON object" : "`\(path)` must be an object")
        }
        self.fields = fields
        self.path = path
    }

    static func parse(_ bytes: [UInt8]) throws(APIError) -> JSONObjectReader {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw .invalidRequest("the body is not valid JSON")
        }
        return try JSONObjectReader(value)
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses fields the endpoint does not know, so a misspelt field is not silently ignored.
    func allowOnly(_ known: Set<String>) throws(APIError) {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidRequest("unknown field `\(name(unknown).prefix(64))`")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func isNull(_ key: String) -> Bool { fields[key] == .null }

    func string(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case nil: return nil
        case .string(let value): return value
        case let other?: throw .invalidRequest("`\(name(key))` must be a string, not \(other.typeName)")
        }
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try string(key) else { throw .invalidRequest("missing field `\(name(key))`") }
        return value
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        switch fields[key] {
        case nil: return nil
        case .bool(let value): return value
        case let other?: throw .invalidRequest("`\(name(key))` must be a boolean, not \(other.typeName)")
        }
    }

    func stringArray(_ key: String) throws(APIError) -> [String]? {
        switch fields[key] {
        case nil: return nil
        case .array(let values):
            var strings: [String] = []
            for value in values {
                guard case .string(let string) = value else {
                    throw .invalidRequest("`\(name(key))` must be an array of strings")
                }
                strings.append(string)
            }
            return strings
        case let other?: throw .invalidRequest("`\(name(key))` must be an array, not \(other.typeName)")
        }
    }

    /// A whole number within `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        switch fields[key] {
        case nil: return nil
        case .number(let value):
            guard value.rounded() == value, value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
                throw .invalidRequest("`\(name(key))` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(value)
        case let other?: throw .invalidRequest("`\(name(key))` must be a number, not \(other.typeName)")
        }
    }

    func object(_ key: String) throws(APIError) -> JSONObjectReader? {
        guard let value = fields[key] else { return nil }
        return try JSONObjectReader(value, path: name(key))
    }

    func value(_ key: String) -> JSONValue? { fields[key] }
}
